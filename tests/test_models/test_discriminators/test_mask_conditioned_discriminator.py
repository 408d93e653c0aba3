import pytest
import torch

from headswap.models.discriminators import MaskConditionedDiscriminator


def test_multiscale_logits_and_conditioning():
    torch.manual_seed(0)
    disc = MaskConditionedDiscriminator(base_channels=4, max_channels=16, num_layers=3,
                                        num_scales=2).eval()
    img = torch.randn(2, 3, 64, 64)
    masks = torch.zeros(2, 2, 64, 64)
    logits = disc(img, masks)
    assert [tuple(x.shape) for x in logits] == [(2, 1, 8, 8), (2, 1, 4, 4)]
    masks[:, 0, 16:48, 16:48] = 1
    changed = disc(img, masks)
    assert not torch.allclose(changed[0], logits[0])  # the masks are an input
    assert all(hasattr(m, 'weight_orig') for m in disc.modules()
               if isinstance(m, torch.nn.Conv2d))


def test_mask_shape_is_checked():
    disc = MaskConditionedDiscriminator(base_channels=4, max_channels=8, num_layers=2)
    with pytest.raises(ValueError, match='expected masks'):
        disc(torch.randn(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))
