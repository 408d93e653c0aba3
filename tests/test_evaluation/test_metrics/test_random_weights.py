"""Every metric network runs with random weights when no checkpoint is given, and says so."""
import pytest

from headswap.evaluation.metrics import FID, LPIPS, IdentitySimilarity
from .test_identity_similarity import TINY_ARCFACE


@pytest.mark.parametrize('build, name', [
    (lambda: IdentitySimilarity(identity_encoder=TINY_ARCFACE, device='cpu'), 'ArcFace IResNet'),
    (lambda: LPIPS(backbone_checkpoint=None, device='cpu'), 'LPIPS alex backbone'),
    (lambda: FID(inception=dict(type='FIDInceptionV3', input_size=75), device='cpu'),
     'FID Inception-v3'),
])
def test_random_weights_are_warned(build, name, mmengine_log):
    from headswap.utils import register_all_modules
    register_all_modules()
    build()
    line = next(m for m in mmengine_log if name in m)
    assert line.startswith('WARNING') and 'RANDOM weights' in line
