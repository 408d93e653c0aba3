"""One-line errors for the command-line tools.

The tools wrap their work in :func:`friendly_errors`: mistakes a user can fix
(a missing config or checkpoint, an unknown component name, a corrupt file)
print one line naming the file or name and what to do, instead of a traceback
from deep inside a library. ``HEADSWAP_DEBUG=1`` shows the full traceback.
The error types live in :mod:`headswap.errors`; ``UserError`` is re-exported
here for the old import path.
"""
import contextlib
import os
import re
import sys
from typing import Iterator

from headswap.errors import CheckpointError, UserError

__all__ = ['UserError', 'friendly_errors']


_REGISTRY_MISS = re.compile(r"(\S+) is not in the (\S+) registry")


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, (UserError, CheckpointError)):
        return str(exc)
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, TypeError):  # a config key the component does not take
        from .config_keys import unexpected_argument_line
        return unexpected_argument_line(exc)
    m = _REGISTRY_MISS.search(text)
    if m:
        name, registry = m.group(1), m.group(2)
        hint = _close_matches(name, registry)
        return (f'unknown component type {name} in the {registry} registry: check the `type` '
                f'in the config, or import the module that registers it '
                f'(custom_imports){hint}')
    return ''


def _close_matches(name: str, registry: str) -> str:
    import difflib
    try:
        from mmengine.registry import Registry  # noqa: F401

        import headswap.registry as reg
        scope, _, reg_name = registry.partition('::')
        target = next((r for r in vars(reg).values()
                       if getattr(r, 'name', None) == reg_name and hasattr(r, 'module_dict')),
                      None)
        if target is None:
            return ''
        names = list(target.module_dict)
        parent = target.parent
        while parent is not None:
            names += list(parent.module_dict)
            parent = parent.parent
        close = difflib.get_close_matches(name.split('.')[-1], names, n=3)
        return f'; did you mean {", ".join(close)}?' if close else ''
    except Exception:  # never let the hint hide the error
        return ''


@contextlib.contextmanager
def friendly_errors(prog: str) -> Iterator[None]:
    """Turn user errors raised inside the block into ``prog: error: ...`` and exit 2."""
    try:
        yield
    except Exception as exc:
        line = _one_line(exc)
        if not line or os.environ.get('HEADSWAP_DEBUG'):
            raise
        print(f'{prog}: error: {line}  (set HEADSWAP_DEBUG=1 for the traceback)',
              file=sys.stderr)
        sys.exit(2)
