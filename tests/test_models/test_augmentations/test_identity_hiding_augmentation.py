import pytest
import torch

from headswap.models.augmentations import IdentityHidingAugmentation


def test_eval_is_identity_and_train_perturbs():
    aug = IdentityHidingAugmentation()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    aug.eval()
    assert aug(x) is x
    aug.train()
    y = aug(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    assert y.min() >= -1 and y.max() <= 1


def test_zero_strength_is_identity():
    aug = IdentityHidingAugmentation(brightness=0, contrast=0, saturation=0, hue=0, rotation=0,
                                     scale=(1, 1), translation=0).train()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(aug(x), x, atol=1e-5, rtol=0)


def test_per_sample_and_seeded():
    aug = IdentityHidingAugmentation().train()
    x = torch.rand(1, 3, 16, 16).expand(3, -1, -1, -1) * 2 - 1
    torch.manual_seed(0)
    a = aug(x)
    torch.manual_seed(0)
    torch.testing.assert_close(aug(x), a)
    assert not torch.allclose(a[0], a[1])  # each sample draws its own parameters


def test_hue_rotation_keeps_grey():
    aug = IdentityHidingAugmentation(brightness=0, contrast=0, saturation=0, hue=0.5,
                                     rotation=0, scale=(1, 1), translation=0).train()
    grey = torch.full((2, 3, 8, 8), 0.2)
    torch.testing.assert_close(aug(grey), grey, atol=1e-5, rtol=0)


def test_bad_hue():
    with pytest.raises(ValueError, match='hue'):
        IdentityHidingAugmentation(hue=0.7)
