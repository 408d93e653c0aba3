import pytest
import torch

from headswap.models.losses import DiceLoss, FeatureMatchingLoss, HingeGANLoss, IdentityLoss, L1Loss


def test_hinge_discriminator_terms():
    loss = HingeGANLoss()
    # -E[min(0, -1 + D(real))] - E[min(0, -1 - D(fake))]
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - r) = 0, 0.5, 2
    fake = torch.tensor([-2.0, 0.0, 1.0])  # relu(1 + f) = 0, 1, 2
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 3 / 3)
    # multi-scale: averaged over scales
    two = loss.discriminator_loss([real, real * 0], [fake, fake * 0])
    assert two.item() == pytest.approx((2.5 / 3 + 1.0 + 1.0 + 1.0) / 2)


def test_hinge_generator_term():
    assert HingeGANLoss(loss_weight=2.0).generator_loss(torch.tensor([1.0, 3.0])).item() == \
        pytest.approx(-4.0)


def test_identity_loss():
    loss = IdentityLoss(loss_weight=3.0)
    e = torch.randn(4, 8)
    assert loss(e, e).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(e, 2 * e).item() == pytest.approx(0.0, abs=1e-6)  # scale-free
    assert loss(e, -e).item() == pytest.approx(6.0)
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert loss(a, b).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match='shapes'):
        loss(a, torch.ones(1, 3))


def test_feature_matching_identical_and_known():
    loss = FeatureMatchingLoss(layer_weights=(1.0, 0.5), loss_weight=2.0)
    feats = [torch.randn(2, 3, 4, 4), torch.randn(2, 5, 2, 2)]
    assert loss(feats, [f.clone() for f in feats]).item() == 0.0
    other = [feats[0] + 1.0, feats[1] - 2.0]
    assert loss(other, feats).item() == pytest.approx(2.0 * (1.0 * 1.0 + 0.5 * 2.0))


def test_l1():
    assert L1Loss(loss_weight=10.0)(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)).item() == \
        pytest.approx(10.0)


def test_dice():
    loss = DiceLoss(smooth=0.0)
    m = torch.zeros(2, 1, 4, 4)
    m[:, :, :2] = 1
    assert loss(m, m).item() == pytest.approx(0.0)
    assert loss(1 - m, m).item() == pytest.approx(1.0)
    half = m.clone()
    half[:, :, :1] = 0  # predicts half of the target: dice = 2*4/(4+8)
    assert loss(half, m).item() == pytest.approx(1 - 8 / 12)
    assert DiceLoss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)).item() == 0.0
