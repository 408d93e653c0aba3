import numpy as np
import pytest
import torch

from headswap.datasets.transforms.frame_io import to_image_tensor


@pytest.mark.parametrize('shape', [(7, 5, 3), (2, 7, 5, 3), (1, 1, 3)])
def test_image_tensor_is_the_channels_first_copy(shape):
    """OpenCV's planar split for uint8 RGB, numpy's transposing copy otherwise: the same."""
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, shape).astype(np.uint8)
    for arr in (img, img[..., ::-1, :]):  # contiguous and a reversed view
        expect = torch.from_numpy(np.moveaxis(arr, -1, -3).copy())
        out = to_image_tensor(arr)
        assert out.dtype == torch.uint8 and torch.equal(out, expect)
    as_float = to_image_tensor(img.astype(np.float32))
    assert torch.equal(as_float, torch.from_numpy(np.moveaxis(img, -1, -3).astype(np.float32)))
