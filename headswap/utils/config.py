"""Config loading and Runner construction shared by the command-line tools."""
import os.path as osp
from typing import Optional

from headswap.errors import UserError
from .config_keys import check_model_keys, merge_cfg_options

__all__ = ['load_config', 'load_inference_config', 'apply_tool_options', 'build_runner',
           'enable_amp', 'apply_precision', 'memoize_config_formatting']


def load_config(path: str):
    """``Config.fromfile`` with a one-line error for a missing or broken file."""
    from mmengine.config import Config
    if not osp.isfile(path):
        raise UserError(f'{path}: no such config file; give the path of a config, '
                        'e.g. configs/head2head_aligner.py')
    try:
        return Config.fromfile(path)
    except FileNotFoundError as e:
        raise UserError(f'{path}: a file it inherits or imports does not exist ({e})') from None
    except SyntaxError as e:
        raise UserError(f'{path}: not a valid Python config (line {e.lineno}: {e.msg})') from None
    except ImportError as e:  # custom_imports (plugins); mmengine lists all of sys.path
        cause = e.__cause__ if isinstance(e.__cause__, ImportError) else e
        what = f'no module {cause.name!r}' if cause.name else str(cause).splitlines()[0]
        raise UserError(f'{path}: custom_imports failed ({what}); run from the repository root '
                        'with PYTHONPATH=$PWD (or install the plugin package)') from None


def load_inference_config(model, cfg_options: Optional[dict] = None):
    """An inference config (path, Config or dict) with ``cfg_options`` merged, checked for
    its parts; config files it names relative to the repository work from any directory."""
    import copy
    import os

    from mmengine.config import Config
    if isinstance(model, str):
        cfg = load_config(model)
        root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(model))))
    else:
        cfg = copy.deepcopy(model if isinstance(model, Config) else Config(model))
        root = os.getcwd()
    merge_cfg_options(cfg, cfg_options, runtime=False)
    for key in ('model', 'detector', 'landmarker', 'parser'):
        if key not in cfg:
            raise UserError(f'the inference config has no `{key}`; see '
                            'configs/inference/headswap_offline.py')
        check_model_keys(cfg, key)
    # config files named relative to the repository work from any directory
    for part, key in (('model', 'aligner'), ('model', 'blender'), ('parser', 'config'),
                      ('landmarker', 'config')):
        path = cfg[part].get(key)
        if isinstance(path, str) and '::' not in path and not osp.isfile(path) \
                and osp.isfile(osp.join(root, path)):
            cfg[part][key] = osp.join(root, path)
    return cfg


def apply_tool_options(cfg, cfg_options: Optional[dict], launcher: str,
                       work_dir: Optional[str], config_path: str) -> None:
    """Merge ``--cfg-options`` (unknown keys are a one-line :class:`UserError`, see
    :mod:`headswap.utils.config_keys`), set the launcher and work dir (as OpenMMLab tools do)."""
    merge_cfg_options(cfg, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def memoize_config_formatting(maxsize: int = 16) -> None:
    """Format each config text with yapf once per process.

    mmengine's ``Config.pretty_text`` runs yapf over the whole config every time it is read
    (about 1 s of one CPU core for a stage-1 config), and a Runner reads it 5-7 times: the
    log, the dumped config, the visualizer, each checkpoint's meta. yapf's output is a
    function of its input text and style, so the results are remembered by those (the
    ``maxsize`` latest): the same text, one formatting. Idempotent.
    """
    from collections import OrderedDict

    from mmengine.config import config as mm_config
    format_code = mm_config.FormatCode
    if getattr(format_code, 'memoized', False):
        return
    cache = OrderedDict()

    def memoized(text, style_config=None, **kwargs):
        style = (tuple(sorted(style_config.items())) if isinstance(style_config, dict)
                 else style_config)
        key = (text, style, tuple(sorted(kwargs.items())))
        if key in cache:
            cache.move_to_end(key)
        else:
            cache[key] = format_code(text, style_config=style_config, **kwargs)
            if len(cache) > maxsize:
                cache.popitem(last=False)
        return cache[key]

    memoized.memoized = True
    mm_config.FormatCode = memoized


def build_runner(cfg, launcher: str = 'none'):
    """Register headswap, start the process group if needed and build the Runner.

    On a CPU-only machine a distributed launch gets a gloo group (see
    :func:`headswap.utils.dist.init_distributed`).
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from .dist import init_distributed
    from .setup_env import register_all_modules

    register_all_modules(init_default_scope=False)
    memoize_config_formatting()
    check_model_keys(cfg)  # a typo is one line here, not a config dump and a traceback
    if launcher != 'none':
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)
        if init_distributed(launcher, timeout_s=timeout):
            import sys

            import torch.distributed as dist
            print(f'No usable GPU: started a gloo process group (rank {dist.get_rank()} of '
                  f'world size {dist.get_world_size()})', file=sys.stderr, flush=True)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def apply_precision(cfg, amp: bool = False) -> bool:
    """Mixed precision when asked (``--amp``: on any device) or when the config says
    ``amp = True`` and a GPU is there (the fast one-GPU configs: bf16 is where their
    speed comes from; on a CPU it would only be slower). ``--cfg-options amp=False``
    keeps such a config in fp32. Returns whether mixed precision is on."""
    import torch
    if amp or (cfg.get('amp', False) and torch.cuda.is_available()):
        enable_amp(cfg)
        return True
    return False


def enable_amp(cfg) -> None:
    """Mixed precision for every optimizer wrapper of ``cfg``.

    bfloat16 autocast (no loss scaling; CPUs and GPUs that support it) through
    headswap's ``AutocastOptimWrapper``; on GPUs without bf16, float16 with
    dynamic loss scaling through mmengine's ``AmpOptimWrapper``.
    """
    import torch
    bf16 = not torch.cuda.is_available() or torch.cuda.is_bf16_supported()
    optim = cfg.optim_wrapper
    wrappers = [optim] if 'optimizer' in optim else [
        v for v in optim.values() if isinstance(v, dict) and 'optimizer' in v]
    for w in wrappers:
        wtype = w.get('type', 'OptimWrapper')
        if wtype in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
            continue
        if wtype != 'OptimWrapper':
            raise UserError(f'--amp works with OptimWrapper only; this config uses {wtype}')
        if bf16:
            w.update(type='AutocastOptimWrapper', dtype='bfloat16')
        else:
            w.update(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
