import pytest
import torch

from headswap.models.augmentations import IdentityHidingAugmentation, PoseAugmentation


def test_eval_passes_everything_through():
    aug = PoseAugmentation().eval()
    x, m = torch.rand(2, 3, 16, 16), torch.rand(2, 1, 16, 16)
    out = aug(x, None, m)
    assert out[0] is x and out[1] is None and out[2] is m


def test_one_transform_per_sample_for_all_inputs():
    """Driver, target and mask move together: an image whose channels hold the mask
    stays equal to the warped mask; two copies of one image stay equal."""
    aug = PoseAugmentation(rotation=20, scale=(0.8, 1.2), translation=0.1).train()
    torch.manual_seed(0)
    mask = (torch.rand(3, 1, 24, 24) > 0.5).float()
    img = mask.expand(-1, 3, -1, -1).clone()
    driver, target, warped_mask = aug(img, img.clone(), mask)
    torch.testing.assert_close(driver, target)
    torch.testing.assert_close(driver, warped_mask.expand(-1, 3, -1, -1))
    assert not torch.allclose(driver, img)  # it did move
    assert not torch.allclose(driver[0], driver[1])  # per sample


def test_prob_zero_is_identity_and_bad_prob():
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(PoseAugmentation(prob=0.0).train()(x)[0], x, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match='prob'):
        PoseAugmentation(prob=1.5)


def test_identity_hiding_geometry_warmup():
    no_colour = dict(brightness=0, contrast=0, saturation=0, hue=0)
    aug = IdentityHidingAugmentation(**no_colour, rotation=30, geometry_warmup=4).train()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    # first call: no geometry yet (strength 0), later calls ramp up
    torch.testing.assert_close(aug(x), x, atol=1e-5, rtol=0)
    assert aug.geometry_strength() == 0.25
    for _ in range(3):
        aug(x)
    assert aug.geometry_strength() == 1.0 and int(aug.steps) == 4
    assert not torch.allclose(aug(x), x)
    # the count is saved with a warm-up (it resumes) and absent without one
    fresh = IdentityHidingAugmentation(geometry_warmup=4)
    fresh.load_state_dict(aug.state_dict())
    assert fresh.geometry_strength() == 1.0
    assert 'steps' not in IdentityHidingAugmentation().state_dict()
