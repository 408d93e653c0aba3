import pytest
import torch

from headswap.models.augmentations import IdentityHidingAugmentation, PoseAugmentation
from headswap.models.augmentations.pose_augmentation import move_points


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


def test_points_move_with_the_frames():
    """A bright spot at each landmark: after the warp, each moved landmark is where its
    spot went (the spot's centroid, within a fifth of a pixel), for every sample."""
    size, n = 64, 3
    torch.manual_seed(1)
    points = torch.rand(n, 4, 2) * 0.4 + 0.3  # in [0, 1], away from the borders
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing='ij')
    spots = torch.stack([
        torch.stack([torch.exp(-((xs - x * size) ** 2 + (ys - y * size) ** 2) / 8)
                     for x, y in sample]) for sample in points])  # (n, 4, H, W)
    aug = PoseAugmentation(rotation=25, scale=(0.8, 1.2), translation=0.1, prob=0.5).train()
    warped, moved = aug(spots, points=points)
    assert moved.shape == points.shape and not torch.allclose(moved, points)
    mass = warped.sum((2, 3))
    centroid = torch.stack([(warped * xs).sum((2, 3)) / mass,
                            (warped * ys).sum((2, 3)) / mass], -1) / size
    torch.testing.assert_close(moved, centroid, atol=0.2 / size, rtol=0)
    # evaluation: points pass through too
    assert aug.eval()(spots, points=points)[1] is points


def test_move_points_inverts_the_sampling_grid():
    theta = torch.tensor([[[0.9, -0.2, 0.1], [0.25, 1.1, -0.05]]])
    points = torch.tensor([[[0.2, 0.7], [0.5, 0.5]]])
    q = move_points(points, theta) * 2 - 1  # output position of each point, in [-1, 1]
    back = torch.einsum('bij,bnj->bni', theta[:, :, :2], q) + theta[:, None, :, 2]
    torch.testing.assert_close((back + 1) / 2, points)


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
