import pytest
from mmengine.config import Config

TINY_CONFIG = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'


@pytest.fixture(scope='module')
def cfg():
    """The tiny stage-1 config (32 px, narrow widths)."""
    import headswap.engine  # noqa: F401  (registers the optimizer constructor)
    return Config.fromfile(TINY_CONFIG)
