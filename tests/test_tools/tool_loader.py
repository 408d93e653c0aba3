"""Import a command-line tool of tools/ as a module (they are scripts, not a package)."""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(relpath: str):
    """``load_tool('tools/misc/browse_dataset.py')`` -> the module, its ``main`` callable."""
    path = osp.join(ROOT, relpath)
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
