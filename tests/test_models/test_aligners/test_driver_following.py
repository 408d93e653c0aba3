"""Stage 1 must follow its driver: a fit of a few frames that a mean face cannot pass.

Four frames of the bundled sample that differ most in their landmarks (head pose and
expression) are reenacted from the same two source frames, one sample per step as in the
paper (batch 1). After the fit each output must be nearer its own target than any other
target, and nearer it than the mean of the four targets is. A model that draws one face for
every driver (a constant output, whatever it learned) passes at most one of the four.

The same fit with BatchNorm in the encoders is the collapse this test exists for: at one
sample per step BatchNorm normalises each channel over one image, the encoders' pooled
embeddings hardly differ between drivers, and the model draws one face
(docs/en/stage1_learning.md). It is checked to fail.

The two fits take about 40 s each on one core and gain little from a second thread (tiny
convolutions), so the BatchNorm fit runs in a process of its own beside the GroupNorm one,
one thread each (``ToolRuns``).
"""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from headswap.structures import HeadSwapDataSample
from headswap.structures.face_labels import head_mask
from tests.baselines import torch_threads
from tests.conftest import ToolRuns, selected
from tests.test_models.test_aligners.conftest import TINY_CONFIG
from tests.test_models.test_aligners.test_head2head_aligner import build, optim_for

SAMPLE = 'data/sample'
CLIP = 'frames/carphone/pristine/00001/'
SIZE = 32
ITERS = 500
ENCODERS = ('portrait_encoder', 'pose_encoder', 'expression_encoder')


def _frames():
    with open(osp.join(SAMPLE, 'index.json')) as f:
        rows = [r for r in json.load(f)['data_list'] if r['img_path'].startswith(CLIP)]
    imgs, masks = [], []
    for r in rows:
        img = cv2.imread(osp.join(SAMPLE, r['img_path']))[..., ::-1]
        lab = cv2.imread(osp.join(SAMPLE, r['parsing_path']), cv2.IMREAD_UNCHANGED)
        imgs.append(cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA))
        masks.append(cv2.resize(head_mask(lab).astype(np.float32), (SIZE, SIZE),
                                interpolation=cv2.INTER_AREA))
    points = torch.tensor([r['landmarks'] for r in rows]).flatten(1)
    # greedy farthest points in landmark space: four different poses / expressions
    chosen = [int((points - points.mean(0)).norm(dim=1).argmax())]
    while len(chosen) < 4:
        chosen.append(int(torch.cdist(points, points[chosen]).min(1).values.argmax()))
    sources = [i for i in range(len(rows)) if i not in chosen][:2]
    imgs = torch.from_numpy(np.ascontiguousarray(np.stack(imgs))).permute(0, 3, 1, 2)
    return imgs, torch.from_numpy(np.stack(masks))[:, None], chosen, sources


def fit(cfg, norm: str = 'GN', iters: int = ITERS):
    """Fit the four frames one per step; returns (outputs, targets) in [-1, 1], ``(4, 3, S, S)``."""
    imgs, masks, chosen, sources = _frames()

    def batch(frames):
        samples = []
        for i in frames:
            sample = HeadSwapDataSample()
            sample.gt_img, sample.gt_mask = imgs[i], masks[i]
            samples.append(sample)
        return dict(inputs=dict(source_imgs=[imgs[sources]] * len(frames),
                                driver_img=[imgs[i] for i in frames]),
                    data_samples=samples)

    encoders = {n: {**cfg.model[n], 'norm_cfg': dict(type=norm)} for n in ENCODERS}
    model = build(cfg, driver_augmentation=None, diagnostics_window=0, **encoders).train()
    optim = optim_for(cfg, model)
    for it in range(iters):
        model.train_step(batch([chosen[it % len(chosen)]]), optim)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch(chosen), False)
        out, _ = model.reenact(data['inputs']['source_imgs'], data['inputs']['driver_img'])
    return out, data['targets']['gt_img']


# the BatchNorm fit, as a script: python -c BN_FIT OUT.pt
BN_FIT = f"""
import sys
import torch
from mmengine.config import Config
import headswap.engine
from tests.test_models.test_aligners.test_driver_following import fit
torch.manual_seed(0)
out, target = fit(Config.fromfile({TINY_CONFIG!r}), 'BN')
torch.save(dict(out=out, target=target), sys.argv[1])
"""


@pytest.fixture(scope='module', autouse=True)
def bn_fit(request, tmp_path_factory):
    """(future, path) of the BatchNorm fit, started with the module when the test that reads
    it is selected, so that it runs beside the GroupNorm fit of the test before it."""
    if not selected(request, 'test_the_check_fails_on_models_that_ignore_their_driver'):
        yield None
        return
    path = tmp_path_factory.mktemp('bn_fit') / 'fit.pt'
    with ToolRuns(workers=1) as tools:
        yield tools.start(['-c', BN_FIT, str(path)]), path


def follows_drivers(out: torch.Tensor, target: torch.Tensor) -> bool:
    """Each output nearest its own target, and nearer than the targets' mean image."""
    dist = (out[:, None] - target[None]).abs().mean((2, 3, 4))
    mean_face = (target.mean(0, keepdim=True) - target).abs().mean((1, 2, 3))
    return bool((dist.argmin(1) == torch.arange(len(out))).all()
                and (dist.diag() < mean_face).all())


def test_outputs_follow_their_drivers(cfg):
    torch.manual_seed(0)
    with torch_threads(1):  # the other core runs the BatchNorm fit
        out, target = fit(cfg, 'GN')
    dist = (out[:, None] - target[None]).abs().mean((2, 3, 4))
    assert follows_drivers(out, target), dist


def test_the_check_fails_on_models_that_ignore_their_driver(cfg, bn_fit):
    untrained, target = fit(cfg, 'GN', iters=0)
    # the best constant image (the targets' own mean) and an untrained model fail
    assert not follows_drivers(target.mean(0, keepdim=True).expand_as(target), target)
    assert not follows_drivers(untrained, target)
    # the collapse itself: BatchNorm in the encoders at one sample per step (BN_FIT)
    run, path = bn_fit
    run.result()
    bn = torch.load(path)
    torch.testing.assert_close(bn['target'], target)
    assert not follows_drivers(bn['out'], bn['target'])


@pytest.mark.parametrize('bad', ['shuffled', 'constant'])
def test_follows_drivers_rejects_outputs_that_ignore_the_driver(bad):
    torch.manual_seed(0)
    target = torch.rand(4, 3, 8, 8) * 2 - 1
    out = target[[1, 2, 3, 0]] if bad == 'shuffled' else target[:1].expand_as(target)
    assert not follows_drivers(out, target)
    assert follows_drivers(target + 0.01 * torch.randn_like(target), target)
