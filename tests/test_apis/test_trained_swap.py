"""The swap moves the face: tiny checkpoints trained here, end to end (issue 20, item 3).

The other inferencer tests use untrained stages (their swaps are noise), so they can check
plumbing only. Here ``make_tiny_checkpoints`` (the README's quick start) trains both tiny
stages for 100 steps each on the bundled sample (~25 s, side by side on two cores), then the
carphone man is swapped onto the astronaut through the inferencer, watermark on:

* stage 1's head is much nearer the source crops than the target's own head is, and the
  written output's head region (warped into the aligned crop) moved toward the source;
* outside the region the swap may touch, every pixel is within the watermark's bound, and the
  head region changed many times more than the background.

A 100-step blender is the weak link (see the thresholds); the README's 1000-step checkpoints
pass the head through far better, but take ~3 minutes to train.
"""
import glob

import cv2
import numpy as np
import pytest
from PIL import Image

from headswap.provenance import detect_watermark
from headswap.registry import INFERENCERS
from tests.baselines import torch_threads
from tests.test_apis.media_fixtures import CARPHONE, astronaut, paste, scene, watermark_bound
from tests.test_apis.test_headswap_inferencer import CONFIG, changed_region
from tests.test_tools.tool_loader import load_tool

ITERS = 100


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """An inferencer with both tiny stages trained ``ITERS`` steps on data/sample."""
    root = tmp_path_factory.mktemp('trained')
    make = load_tool('tools/misc/make_tiny_checkpoints.py').make_tiny_checkpoints
    with torch_threads(1):
        ckpts = make(str(root), iters=ITERS, work_dir=str(root / 'work'))
    aligner, blender = ckpts['head2head_aligner_tiny.pth'], ckpts['head2scene_blender_tiny.pth']
    inf = INFERENCERS.build(dict(
        type='HeadSwapInferencer', model=CONFIG, device='cpu', show_progress=False,
        cfg_options={'model.aligner_checkpoint': aligner, 'model.blender_checkpoint': blender}))
    inf.set_sources(CARPHONE, num_sources=4)
    return inf


def test_swap_moves_the_head_toward_the_source_and_keeps_the_scene(trained, tmp_path):
    target = paste(scene(240, 180), astronaut(), 60, 20, 150)
    steps = tmp_path / 'steps'
    with torch_threads(1):
        res = trained(target, out=str(tmp_path / 'out.png'), save_intermediates=str(steps))
    assert res['predictions'][0]['swapped'] == 1
    out = np.asarray(Image.open(tmp_path / 'out.png').convert('RGB'))
    assert detect_watermark(str(tmp_path / 'out.png'))[0]

    # the head region, in the aligned crop: the written output warped by the crop's transform
    det = trained.analysis.detect([target])[0]
    best = int(np.argmax(det.boxes[:, 2] - det.boxes[:, 0]))
    lm, _ = trained.analysis.landmarks([target], det.boxes[best:best + 1],
                                       det.keypoints[best:best + 1])
    m = trained.analysis.transform(lm[0])

    def crop(img: np.ndarray) -> np.ndarray:
        return trained.analysis.align(img, m).astype(np.float32)

    def read(name: str) -> np.ndarray:
        path = glob.glob(str(steps / f'*{name}'))[0]
        return cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32)

    head = read('_head_mask.png')[..., 0] > 127  # where the generated head is
    assert 0.05 < head.mean() < 0.9
    source = np.mean([read(f'source_{k:02d}_crop.png') for k in range(4)], 0)

    def to_source(img: np.ndarray) -> float:
        return float(np.abs(img - source)[head].mean())

    # stage 1 drew the source person: its head is much nearer the sources' mean crop than the
    # target is (0.59 of the target's distance after 100 steps; untrained stages: 0.80). The
    # landmark-driven tiny stage 1 puts the head in the target's pose, so it stays farther from
    # the sources' mean than the earlier latent-only one, which drew one mean face (0.34)
    assert to_source(read('_head.png')) < 0.7 * to_source(read('target_crop.png'))
    # and the written output's head region moved toward the source. Weaker after blending: the
    # tiny blender recolours the head to the target's skin and needs ~1000 steps (3 min) to pass
    # it through cleanly; after 100 steps 0.88 of the target's distance (untrained: 0.95)
    swapped, unchanged = to_source(crop(out)), to_source(crop(target))
    assert swapped < 0.92 * unchanged, (swapped, unchanged)

    # the scene: within the watermark's bound outside the region the swap may change
    region = changed_region(trained, target, glob.glob(str(steps / '*_paste_mask.png'))[0])
    assert 0.02 < region.mean() < 0.6
    diff = np.abs(out.astype(np.int16) - target.astype(np.int16))
    bound = watermark_bound(*target.shape[:2])
    assert bound < 40 and diff[~region].max() <= bound, (diff[~region].max(), bound)
    inside, outside = diff[region].mean(), diff[~region].mean()
    assert inside > 5 * outside and inside > 10, (inside, outside)
