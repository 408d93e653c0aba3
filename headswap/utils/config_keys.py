"""Check config keys before anything is built: a typo is one line, not a traceback.

``--cfg-options`` keys are judged against the config they change: a key that exists is fine; a
new key is fine where the component it lands in accepts it, i.e. an argument of the
constructor that the section's ``type`` names (resolved through the headswap registries, so
``model.gan_warmup=2000`` is accepted when the base config lacks it); a component that takes
``**kwargs``, or a section without ``type``, accepts anything that is not a near-miss of a
key it already has. Top-level keys must exist in the config or be keys the mmengine Runner
reads. :func:`check_model_keys` applies the same rule to every typed section of a config's
``model``, so a typo in a config file is reported before the Runner prints the config.
"""
import difflib
import inspect
from typing import Dict, Iterable, List, Optional, Set

from headswap.errors import UserError

__all__ = ['merge_cfg_options', 'check_cfg_options', 'check_model_keys',
           'unexpected_argument_line', 'closest_names', 'constructor_args',
           'constructor_default']

# popped by mmengine's builders, not passed to a constructor
_BUILDER_KEYS = frozenset({'type', '_scope_', '_delete_', 'constructor', 'paramwise_cfg'})
# read by the config machinery, the Runner or headswap's tools besides the Runner's arguments
_EXTRA_RUNTIME_KEYS = frozenset({'runner_type', 'custom_imports', 'compile', 'strategy',
                                 '_base_'})
_NEAR_MISS = 0.8  # difflib ratio above which a new key in an open section is a typo


def merge_cfg_options(cfg, options: Optional[dict], flag: str = '--cfg-options',
                      runtime: bool = True) -> None:
    """Check ``options`` (``{'a.b.c': value}``, as DictAction gives them) and merge them.

    A section the config sets to None (a component switched off, e.g.
    ``model.pose_augmentation = None``) becomes a new section when a key is set under it:
    ``model.pose_augmentation.type=PoseAugmentation`` switches it on.
    """
    if options:
        check_cfg_options(cfg, options, flag, runtime)
        for key, value in options.items():  # in order: `a.b=None a.b.c=1` gives a.b.c = 1
            _open_none_sections(cfg, key.split('.')[:-1])
            cfg.merge_from_dict({key: value})


def _open_none_sections(cfg, parts: List[str]) -> None:
    """Set the None sections on the path ``parts`` to empty ones (for merge_from_dict)."""
    from mmengine.config import ConfigDict
    node = getattr(cfg, '_cfg_dict', cfg)
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return
        if node[part] is None:
            node[part] = ConfigDict()
        node = node[part]


def check_cfg_options(cfg, options: Dict[str, object], flag: str = '--cfg-options',
                      runtime: bool = True) -> None:
    """Raise :class:`UserError` (one line) naming every unknown key and the closest names.

    Args:
        cfg: the config the options will be merged into (not changed here).
        options: ``{'dotted.key': value}``.
        flag: how the user gave the options, for the message.
        runtime: accept the top-level keys the mmengine Runner reads (training and test
            configs); an inference config accepts only keys it has.
    """
    problems = [p for p in (_check_key(cfg, key, options, runtime) for key in options) if p]
    if problems:
        raise UserError(f'{flag} ' + '; '.join(problems))


def check_model_keys(cfg, section: str = 'model') -> None:
    """Every key of every typed section under ``cfg[section]`` is accepted by its component."""
    if not isinstance(cfg.get(section), dict):
        return
    problems: List[str] = []
    _walk(cfg[section], section, problems)
    if problems:
        name = getattr(cfg, 'filename', None)
        raise UserError((f'{name}: ' if name else '') + '; '.join(problems))


def unexpected_argument_line(exc: BaseException) -> str:
    """One line for a constructor's "unexpected keyword argument" TypeError of a registered
    headswap component (a key in a config), '' for any other error."""
    import re
    m = re.search(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'", str(exc))
    if not isinstance(exc, TypeError) or not m:
        return ''
    name, key = m.groups()
    classes = _resolve(name)
    if not classes:
        return ''
    params = constructor_args(name) or set()
    return (f'{name} takes no argument {key!r}: check the config and --cfg-options'
            f'{closest_names(key, params)}')


# ----------------------------------------------------------------------------- internals
def _check_key(cfg, key: str, options: dict, runtime: bool) -> str:
    parts = key.split('.')
    node = getattr(cfg, '_cfg_dict', cfg)  # a Config holds its ConfigDict
    for i, part in enumerate(parts):
        where = '.'.join(parts[:i])
        if isinstance(node, (list, tuple)):
            if part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            return f'{key}: {where} is a list of {len(node)} items, {part!r} is no index of it'
        if node is None:
            node = {}  # a section set to None becomes a new one: judged by its type
        if not isinstance(node, dict):
            return f'{key}: {where} is a value ({type(node).__name__}), not a section'
        if part in node:
            node = node[part]
            continue
        if i == 0:
            known = set(node) | (_runtime_keys() if runtime else set())
            if part in known:
                return ''
            return f'{key}: unknown top-level key {part!r}{closest_names(part, known)}'
        if part in _BUILDER_KEYS:
            return ''
        type_ = options.get(f'{where}.type', node.get('type'))
        params = constructor_args(type_) if type_ is not None and not _layer_cfg(where) else None
        if params is not None:
            if part in params:
                return ''
            return (f'{key}: unknown key {part!r} in {where} ({_type_name(type_)})'
                    f'{closest_names(part, set(node) | params)}')
        close = difflib.get_close_matches(part, [str(k) for k in node], n=3, cutoff=_NEAR_MISS)
        if close:  # an open section: only a near-miss of a key it has is a typo
            return f'{key}: unknown key {part!r} in {where}{closest_names(part, close)}'
        return ''
    return ''


def _walk(node, where: str, problems: List[str]) -> None:
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _walk(item, f'{where}.{i}', problems)
        return
    if not isinstance(node, dict):
        return
    type_ = node.get('type')
    params = constructor_args(type_) if type_ is not None and not _layer_cfg(where) else None
    for k, v in node.items():
        if params is not None and k not in params and k not in _BUILDER_KEYS:
            problems.append(f'{where}: {_type_name(type_)} takes no argument {k!r}'
                            f'{closest_names(str(k), set(node) | params)}')
        _walk(v, f'{where}.{k}', problems)


def _layer_cfg(where: str) -> bool:
    """``norm_cfg``, ``act_cfg``, ``init_cfg``... inside a component: read by layer builders
    that take keys of their own (``requires_grad``, ``layer``), not passed to ``type``."""
    return '.' in where and where.rsplit('.', 1)[1].endswith('_cfg')


def closest_names(name: str, candidates: Iterable[str]) -> str:
    """``'; closest valid names: a, b'`` (difflib), or ``'; no similar valid name'``."""
    pool = sorted(str(c) for c in candidates if str(c) != name and not str(c).startswith('_'))
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    return f'; closest valid names: {", ".join(close)}' if close else '; no similar valid name'


def _type_name(type_) -> str:
    return type_ if isinstance(type_, str) else getattr(type_, '__name__', repr(type_))


def _runtime_keys() -> Set[str]:
    from mmengine.runner import Runner
    return set(inspect.signature(Runner.__init__).parameters) - {'self'} | _EXTRA_RUNTIME_KEYS


def _resolve(type_) -> list:
    """The classes or functions ``type_`` names in the headswap registries (and their
    mmengine parents); a class or function is returned as is."""
    if not isinstance(type_, str):
        return [type_] if callable(type_) else []
    from mmengine.registry import Registry

    import headswap.registry as registries
    from .setup_env import register_all_modules
    register_all_modules(init_default_scope=False)
    found = []
    for registry in vars(registries).values():
        if isinstance(registry, Registry):
            try:
                obj = registry.get(type_)
            except Exception:  # a scope that is not installed, a broken plugin
                obj = None
            if obj is not None and obj not in found:
                found.append(obj)
    return found


def constructor_default(type_, name: str):
    """The default of argument ``name`` of the component ``type_`` names; None when the
    component is unknown, has no such argument, or the argument has no default."""
    for obj in _resolve(type_):
        try:
            param = inspect.signature(obj).parameters.get(name)
        except (TypeError, ValueError):
            continue
        if param is not None and param.default is not param.empty:
            return param.default
    return None


def constructor_args(type_) -> Optional[Set[str]]:
    """Argument names the component accepts; None when unknown or it takes ``**kwargs``."""
    classes = _resolve(type_)
    if not classes:
        return None
    names: Set[str] = set()
    for obj in classes:
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return None
        for p in sig.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                return None
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                names.add(p.name)
    return names
