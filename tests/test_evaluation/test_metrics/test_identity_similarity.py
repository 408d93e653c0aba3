import pytest
import torch

from headswap.evaluation.metrics import IdentitySimilarity
from .samples import evaluate, real_frames, sample_dict

TINY_ARCFACE = dict(type='ArcFaceIdentityEncoder', depths=(1, 1, 1, 1), base_channels=4,
                    embedding_dim=16, input_size=32, checkpoint=None)


@pytest.fixture(scope='module')
def metric_factory():
    def make(**kwargs):
        return IdentitySimilarity(identity_encoder=TINY_ARCFACE, device='cpu', **kwargs)
    return make


def test_output_equal_to_its_sources_has_csim_one(metric_factory, mmengine_log):
    metric = metric_factory()
    frames = real_frames(32, num=6)
    samples = [sample_dict(pred_img=frames[i], source_imgs=frames[i][None].repeat(3, 1, 1, 1),
                           gt_img=frames[i].clone(), driver_img=frames[(i + 1) % 6],
                           identity='carphone') for i in range(6)]
    out = evaluate(metric, samples)
    assert out['CSIM'] == pytest.approx(1.0, abs=1e-5)
    assert out['CSIM_target'] == pytest.approx(1.0, abs=1e-5)
    assert 'ID_top1' not in out  # one identity: retrieval is not defined
    assert any('gallery has 1 identity' in m for m in mmengine_log)


def test_csim_is_the_mean_over_k_sources(metric_factory):
    metric = metric_factory(driver_key=None)
    a, b = real_frames(32, num=2)
    sims = metric.embed(a[None]) @ metric.embed(b[None]).T
    samples = [sample_dict(pred_img=a, source_imgs=torch.stack([a, b]), identity='x')]
    out = evaluate(metric, samples)
    assert out['CSIM'] == pytest.approx((1 + float(sims)) / 2, abs=1e-5)


def test_cross_identity_has_no_target_term_and_retrieval_finds_the_source(metric_factory):
    a = real_frames(32, 'pristine', num=3)
    b = real_frames(32, 'distorted', num=3)
    # the output copies its (single) source: retrieval must name the source identity
    good = [sample_dict(pred_img=a[0], source_imgs=a[:1], gt_img=b[i], identity='B',
                        source_identity='A') for i in range(3)]
    good += [sample_dict(pred_img=b[0], source_imgs=b[:1], gt_img=a[i], identity='A',
                         source_identity='B') for i in range(3)]
    out = evaluate(metric_factory(driver_key=None), good)
    assert 'CSIM_target' not in out
    assert out['ID_top1'] == 1.0 and out['CSIM'] == pytest.approx(1.0, abs=1e-5)
    # outputs that copy the other identity are never retrieved as their source
    bad = [sample_dict(pred_img=b[0], source_imgs=a[:1], identity='B', source_identity='A'),
           sample_dict(pred_img=a[0], source_imgs=b[:1], identity='A', source_identity='B')]
    assert evaluate(metric_factory(driver_key=None), bad)['ID_top1'] == 0.0
