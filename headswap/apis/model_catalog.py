"""The checkpoints an interactive front end offers (the web demo), each loaded once.

An entry is an inference config plus either a HeadSwapper checkpoint (both stages) or a pair
of stage checkpoints. :func:`find_models` lists a ``weights`` file given on the command line,
what it finds in folders - HeadSwapper checkpoints, and folders holding a stage-1 and a stage-2
checkpoint (the newest of each; e.g. ``checkpoints/tiny`` of
``tools/misc/make_tiny_checkpoints.py``) - and the config's own stage checkpoints. Files are
told apart by their keys, read memory-mapped (``safe_torch_load(mmap=True)``, weights only).
"""
import logging
import os
import os.path as osp
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from headswap.errors import UserError

__all__ = ['ModelEntry', 'checkpoint_kind', 'find_models', 'ModelCatalog']

log = logging.getLogger(__name__)


@dataclass
class ModelEntry:
    """One choice: ``label`` shown to users, ``config`` (inference config), ``weights`` (a
    HeadSwapper checkpoint) or ``cfg_options`` naming the stage checkpoints."""
    label: str
    config: str
    weights: Optional[str] = None
    cfg_options: Dict[str, str] = field(default_factory=dict)


def checkpoint_kind(path: str) -> Optional[str]:
    """``'aligner'``, ``'blender'``, ``'swapper'`` or None (not a readable headswap stage)."""
    from headswap.models.swappers import checkpoint_stage
    from headswap.utils.checkpoint import install_checkpoint_loader, safe_torch_load
    install_checkpoint_loader()
    try:
        ckpt = safe_torch_load(path, 'cpu', mmap=True)
    except Exception as e:  # unreadable or refused: not offered
        log.info('%s: not offered (%s)', path, str(e).splitlines()[0] if str(e) else e)
        return None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    return checkpoint_stage(state) if isinstance(state, dict) else None


def _pth_files(folder: str, max_depth: int, max_files: int) -> List[str]:
    found = []
    root_depth = folder.rstrip(os.sep).count(os.sep)
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        if here.count(os.sep) - root_depth >= max_depth:
            dirs[:] = []
        found += [osp.join(here, f) for f in sorted(files) if f.endswith('.pth')]
        if len(found) >= max_files:
            break
    return found[:max_files]


def find_models(config: str, folders: Sequence[str] = (), weights: Optional[str] = None,
                root: str = '.', max_depth: int = 3, max_files: int = 200) -> List[ModelEntry]:
    """The choices: the command line's ``weights`` first, then what ``folders`` hold (missing
    folders are skipped), then the config's own stage checkpoints if not found there."""
    from mmengine.config import Config
    entries: List[ModelEntry] = []

    def rel(path: str) -> str:  # short: in the repository, else the last two parts
        short = osp.relpath(path, root)
        return short if not short.startswith('..') else osp.join(
            osp.basename(osp.dirname(osp.abspath(path))), osp.basename(path))
    if weights:
        entries.append(ModelEntry(f'{rel(weights)} (weights)', config, weights=weights))
    model = Config.fromfile(config).model
    own = [model.get('aligner_checkpoint'), model.get('blender_checkpoint')]
    own_found = all(own) and all(osp.isfile(osp.join(root, p)) for p in own)
    own_pair = {osp.abspath(osp.join(root, p)) for p in own if p}
    for folder in folders:
        if not osp.isdir(folder):
            continue
        stages: Dict[str, Dict[str, List[str]]] = {}
        for path in _pth_files(folder, max_depth, max_files):
            kind = checkpoint_kind(path)
            if kind == 'swapper':
                entries.append(ModelEntry(f'{rel(path)} (weights)', config, weights=path))
            elif kind in ('aligner', 'blender'):
                stages.setdefault(osp.dirname(path), {}).setdefault(kind, []).append(path)
        for where, kinds in sorted(stages.items()):
            if len(kinds) < 2:
                continue
            aligner, blender = (max(kinds[k], key=osp.getmtime) for k in ('aligner', 'blender'))
            if {osp.abspath(aligner), osp.abspath(blender)} == own_pair:
                own_found = False  # the config's own pair: listed once, here
            entries.append(ModelEntry(
                f'{rel(where)} (stages {osp.basename(aligner)} + {osp.basename(blender)})',
                config, cfg_options={'model.aligner_checkpoint': aligner,
                                     'model.blender_checkpoint': blender}))
    if own_found:
        entries.append(ModelEntry(f'{osp.basename(config)} (its stage checkpoints)', config))
    return entries


class ModelCatalog:
    """Inferencers built on first use and kept (at most ``keep``, least recently used goes);
    ``lock`` serialises their use (one swap at a time per process).

    Args:
        entries: The choices (:func:`find_models`).
        build: ``ModelEntry -> HeadSwapInferencer``.
        keep: How many loaded models to hold.
    """

    def __init__(self, entries: Sequence[ModelEntry], build: Callable, keep: int = 1):
        if not entries:
            raise UserError('no checkpoints found: run tools/misc/make_tiny_checkpoints.py, '
                            'or pass --weights FILE or --checkpoint-dir DIR')
        self.entries: 'OrderedDict[str, ModelEntry]' = OrderedDict()
        for e in entries:  # labels are what users pick: make them unique
            label, n = e.label, 2
            while label in self.entries:
                label, n = f'{e.label} #{n}', n + 1
            self.entries[label] = e
        self.build, self.keep = build, max(1, int(keep))
        self.loaded: 'OrderedDict[str, object]' = OrderedDict()
        self.lock = threading.RLock()

    @property
    def labels(self) -> List[str]:
        return list(self.entries)

    def get(self, label: Optional[str] = None):
        """The inferencer of ``label`` (default: the first entry), loaded once."""
        label = label or self.labels[0]
        if label not in self.entries:
            raise UserError(f'unknown checkpoint {label!r}; choose one of the list')
        with self.lock:
            if label not in self.loaded:
                while len(self.loaded) >= self.keep:
                    self.loaded.popitem(last=False)
                self.loaded[label] = self.build(self.entries[label])
            self.loaded.move_to_end(label)
            return self.loaded[label]
