import os.path as osp

import numpy as np
import pytest
from PIL import Image

DATA = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'provenance')
PHOTOS = ('astronaut', 'coffee', 'chelsea')


def photo(name: str = 'astronaut') -> np.ndarray:
    with Image.open(osp.join(DATA, f'{name}.jpg')) as im:
        return np.array(im.convert('RGB'))


@pytest.fixture(autouse=True)
def _local_cache(tmp_path_factory, monkeypatch):
    """Keep the local C2PA certificate of the tests out of the user's cache."""
    monkeypatch.setenv('HEADSWAP_CACHE', str(tmp_path_factory.getbasetemp() / 'cache'))


@pytest.fixture
def astronaut() -> np.ndarray:
    return photo('astronaut')
