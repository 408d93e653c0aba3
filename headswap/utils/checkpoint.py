"""Loading checkpoints safely.

Two kinds of files are loaded, both with ``torch.load(..., weights_only=True)``,
so no file can run code while it is read:

* **third-party weights** (VGG-19, ArcFace, face parser, landmark models) go
  through :func:`load_weights`, which accepts tensors and plain containers only;
  a file that needs anything else (for example a pickled ``os.system`` call) is
  refused with :class:`CheckpointError` naming the file.
* **checkpoints written by headswap's Runner** carry, besides tensors, the
  message hub's ``HistoryBuffer`` objects and numpy arrays. torch >= 2.6 refuses
  those by default; :func:`install_checkpoint_loader` adds exactly these types
  to torch's allowlist and replaces mmengine's local-file loader with one that
  turns a missing, truncated or corrupt file into a one-line
  :class:`CheckpointError`.
"""
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, Dict, Optional, Union

import torch

from headswap.errors import CheckpointError, MissingCheckpointError

__all__ = [
    'CheckpointError', 'load_weights', 'install_checkpoint_loader', 'safe_torch_load',
    'check_checkpoint_fits'
]


def _runner_checkpoint_globals() -> list:
    """Types found in checkpoints that mmengine's Runner writes."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    try:  # numpy >= 1.25 / 2.x
        from numpy import dtypes as np_dtypes
        dtype_classes = [getattr(np_dtypes, name) for name in dir(np_dtypes)
                         if name.endswith('DType')]
    except ImportError:  # pragma: no cover - old numpy
        dtype_classes = []
    try:
        from numpy._core.multiarray import _reconstruct, scalar  # numpy 2
    except ImportError:
        from numpy.core.multiarray import _reconstruct, scalar  # numpy 1
    return [HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar, *dtype_classes,
            (_history_buffer_getattr, 'builtins.getattr')]


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """The only ``getattr`` a Runner checkpoint may call while it is unpickled.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(buffer, 'mean')``; allowing the real ``getattr`` would let a file
    reach arbitrary attributes, so only public attributes of a HistoryBuffer
    are served.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    is_buffer = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    if is_buffer and isinstance(name, str) and not name.startswith('_'):
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def safe_torch_load(filename: str, map_location: Union[str, torch.device, None] = 'cpu',
                    what: str = 'checkpoint', mmap: bool = False) -> Any:
    """``torch.load(weights_only=True)`` with one-line errors naming the file.

    Args:
        filename: Local path.
        map_location: Passed to ``torch.load``.
        what: What the file is, for the error message.
        mmap: Memory-map the tensors (read only what is touched: for looking at the keys
            of many large files).

    Raises:
        CheckpointError: The file is missing, truncated/corrupt, or needs
            unpickling of objects that are not plain data.
    """
    if not osp.isfile(filename):
        raise MissingCheckpointError(f'{filename}: no such {what} file; check the path')
    if osp.getsize(filename) == 0:
        raise CheckpointError(f'{filename}: the {what} file is empty (0 bytes); '
                              'it was probably cut off while being written: delete it '
                              'and use an earlier checkpoint')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as e:
        detail = _unpickler_reason(str(e))
        raise CheckpointError(
            f'{filename}: refused to load the {what}: it contains pickled Python objects '
            f'that are not plain weights ({detail}). Only tensors and plain containers are '
            'accepted; if you trust the file, re-save its state_dict with '
            '`torch.save(sd, path)` or convert it with tools/model_converters/.') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f'{filename}: not a readable {what} ({msg}); the file is truncated or corrupt: '
            'delete it and use an earlier checkpoint') from None


def _unpickler_reason(message: str) -> str:
    """The one informative sentence of torch's long weights-only error."""
    boilerplate = ('Weights only load failed', 'Check the documentation', 'Please file an issue')
    for line in message.splitlines():
        line = line.replace('WeightsUnpickler error:', '').strip()
        if line and not line.startswith(boilerplate):
            return line.split('. Please use')[0].rstrip('.')
    return 'unsupported content'


def _resolve(path_or_url: str) -> str:
    """A local path for ``path_or_url``; URLs are fetched into torch's hub cache."""
    if path_or_url.startswith(('http://', 'https://')):
        from torch.hub import download_url_to_file, get_dir
        cache_dir = osp.join(get_dir(), 'checkpoints')
        os.makedirs(cache_dir, exist_ok=True)
        cached = osp.join(cache_dir, osp.basename(path_or_url.split('?')[0]))
        if not osp.isfile(cached):
            download_url_to_file(path_or_url, cached, progress=True)
        return cached
    return osp.expanduser(path_or_url)


def load_weights(path_or_url: str, map_location: Union[str, torch.device, None] = 'cpu',
                 key: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Load third-party weights (a state dict) without unpickling any code.

    Args:
        path_or_url: A local file, or an ``http(s)://`` URL that is downloaded
            into torch's hub cache the first time (only when a config asks).
        map_location: Passed to ``torch.load``.
        key: If the file holds a dict that wraps the state dict (for example
            ``{'state_dict': ...}`` or ``{'model': ...}``), the key to take.
            With None, ``'state_dict'`` is unwrapped when present.

    Returns:
        The state dict.
    """
    filename = _resolve(path_or_url)
    obj = safe_torch_load(filename, map_location, what='weights')
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            raise CheckpointError(f'{filename}: no key {key!r} in the weights file')
        obj = obj[key]
    elif isinstance(obj, dict) and 'state_dict' in obj and isinstance(obj['state_dict'], dict):
        obj = obj['state_dict']
    if not isinstance(obj, dict):
        raise CheckpointError(f'{filename}: expected a state dict, found {type(obj).__name__}')
    return obj


_INSTALLED = False


def install_checkpoint_loader() -> None:
    """Let mmengine load headswap checkpoints with ``weights_only=True``.

    Adds the types Runner checkpoints hold to torch's safe-globals allowlist and
    registers a local-file loader for mmengine's ``CheckpointLoader`` that gives
    one-line errors. Idempotent; called by
    :func:`headswap.utils.register_all_modules`.
    """
    global _INSTALLED
    if _INSTALLED:
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    torch.serialization.add_safe_globals(_runner_checkpoint_globals())

    @CheckpointLoader.register_scheme(prefixes='', force=True)
    def load_from_local(filename, map_location):  # noqa: ANN001
        return safe_torch_load(osp.expanduser(filename), map_location)

    _INSTALLED = True


def _checkpoint_model_type(ckpt: dict) -> Optional[str]:
    """The model ``type`` in the config a Runner saved into the checkpoint, if any.

    The config text is parsed, never executed (it came with the file).
    """
    import ast
    cfg_text = (ckpt.get('meta') or {}).get('cfg') if isinstance(ckpt, dict) else None
    if not isinstance(cfg_text, str):
        return None
    try:
        tree = ast.parse(cfg_text)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'model' for t in node.targets) and \
                isinstance(node.value, ast.Call):
            for kw in node.value.keywords:
                if kw.arg == 'type' and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    return None


def check_checkpoint_fits(model: torch.nn.Module, filename: str,
                          min_fraction: float = 0.5) -> None:
    """Refuse a checkpoint that holds another model's weights (e.g. the other stage's).

    mmengine loads checkpoints non-strictly for testing, so a wrong file would
    only warn and then be evaluated with random weights. This compares the
    model's state-dict keys with the file's.

    Raises:
        CheckpointError: Fewer than ``min_fraction`` of the model's weights are
            in the file; the message names the file, the model it was saved
            from (when its config is inside) and the model of the config.
    """
    ckpt = safe_torch_load(osp.expanduser(filename))
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    if not isinstance(state, dict):
        raise CheckpointError(f'{filename}: holds no state dict')
    model = getattr(model, 'module', model)

    def strip(k: str) -> str:
        return k[len('module.'):] if k.startswith('module.') else k

    own = {strip(k) for k in model.state_dict()}
    found = own & {strip(k) for k in state}
    if own and len(found) >= min_fraction * len(own):
        return
    saved = _checkpoint_model_type(ckpt)
    parts = sorted({strip(k).split('.')[0] for k in state})
    source = f'a {saved} checkpoint' if saved else f'weights of {", ".join(parts[:6]) or "nothing"}'
    raise CheckpointError(
        f'{filename}: {source}, which does not fit the config\'s {type(model).__name__} '
        f'(only {len(found)} of its {len(own)} weights are in the file); is it the checkpoint '
        'of the other stage or of another config?')
