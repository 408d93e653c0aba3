"""tools/analysis_tools/learning_check.py on the bundled sample with the tiny configs (CPU)."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO, run_tool

TINY1 = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'
TINY2 = 'configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py'


def tiny2_at_its_size(path) -> str:
    """TINY2 with its held-out synthesis (``test_pipeline``, which learning_check scores stage
    2 with) at the 64 px it trains at. TINY2 resizes only its dataloaders' frames and keeps the
    base config's ``test_pipeline`` at the frames' 512 px, where scoring the 12 held-out frames
    (their SSIM above all) took 42 of this test's 90 s on a CPU."""
    cfg = Config.fromfile(osp.join(REPO, TINY2))
    assert cfg.test_pipeline[0].type == 'LoadHead2SceneFrames'
    cfg.test_pipeline.insert(1, dict(type='ResizeFrames', size=64))
    cfg.dump(str(path))
    return str(path)


def test_train_only_then_resume_and_report_both_stages_against_trivial_baselines(tmp_path):
    """A training as long as one device command, evaluated by the next: --train-only stops
    after the budget's checkpoint; the same arguments with resume=True go on from it and
    score both stages against their trivial baselines."""
    out = tmp_path / 'check'
    args = ['tools/analysis_tools/learning_check.py', '--random-weights', '--out', str(out),
            '--stage1-config', TINY1, '--stage2-config', tiny2_at_its_size(tmp_path / 'tiny2.py'),
            '--tile', '48']
    proc = run_tool(args + ['--stages', '1', '--budget', '3', '--train-only'], timeout=600)
    first = json.loads((out / 'report.json').read_text())['stage1']
    assert 'results' not in first and 'not evaluated (--train-only)' in proc.stdout + proc.stderr
    trained = first['train']['iterations']
    assert (out / 'stage1' / f'iter_{trained}.pth').is_file()
    proc = run_tool(args + ['--budget', '2', '--cfg-options1', 'resume=True'], timeout=900)
    report = json.loads((out / 'report.json').read_text())
    resumed = report['stage1']['train']
    assert resumed['iterations'] > trained  # went on from the checkpoint
    assert resumed['resumed_from'] == trained and first['train']['resumed_from'] == 0
    # the rate counts this run's iterations only (seconds are rounded to 0.1)
    assert resumed['iters_per_s'] == pytest.approx(
        (resumed['iterations'] - trained) / resumed['train_seconds'], rel=0.1)
    assert f'in this run, from iteration {trained})' in (out / 'report.md').read_text()
    split = report['split']
    # every 4th frame of each clip of >= 8 frames is held out: 10 of carphone/pristine's 40,
    # 2 of carphone/distorted's 8; the single astronaut photo trains
    assert (split['train_frames'], split['held_out_frames']) == (37, 12)
    # what the landmarks are: read on the crops, with the mirrored crops' reading on the 41
    # frames where it is usable (not the pixelated ones)
    assert split['landmarks'] == dict(landmarks_on_crop=True, mirrored_landmarks=True,
                                      with_mirrored_reading='41/49')
    assert 'data landmarks: landmarks_on_crop True, mirrored_landmarks True, ' \
        'with_mirrored_reading 41/49' in (out / 'report.md').read_text()
    s1, s2 = report['stage1'], report['stage2']
    assert s1['train']['iterations'] > 0 and s2['train']['iterations'] > 0
    assert set(s1['results']) == {'raw', 'ema', 'mean face', 'nearest train frame (oracle)',
                                  'raw, training drivers', 'ema, training drivers'}
    assert set(s2['results']) == {'blender', 'paste', 'mean frame'}
    mean = s1['results']['mean face']
    assert mean['driver_sensitivity'] == 0.0 and mean['own_target_nearest'] == '1/12'
    # the oracle picks, for each held-out frame, the closest training frame of its video:
    # neighbouring frames of one clip are far closer than the blur of their mean
    for name in ('raw', 'ema'):  # finite, and only for the models
        assert 0 <= s1['results'][name]['source_sensitivity'] < 10
    assert 'source_sensitivity' not in mean
    oracle = s1['results']['nearest train frame (oracle)']
    assert oracle['psnr_whole'] > mean['psnr_whole'] + 2
    for row in s1['results'].values():
        assert 5 < row['psnr_whole'] < 60 and 0 <= row['ssim_head'] <= 1
        assert row['akd'] is not None and row['akd'] > 0  # the offline landmarker ran
        frames = row['per_frame']  # the means come from these (report.json only)
        assert row['akd_all'] == pytest.approx(np.mean(frames['akd']), abs=1e-3)
        kept = np.array(frames['driver_landmark_score']) >= 0.5
        assert row['landmarks_kept'] == f'{kept.sum()}/{len(kept)}'
        assert row['akd'] == pytest.approx(np.mean(np.array(frames['akd'])[kept]), abs=1e-3)
        assert row['psnr_head'] == pytest.approx(np.mean(frames['psnr_head']), abs=1e-2)
    assert 'per_frame' not in proc.stdout
    for row in s2['results'].values():
        assert 5 < row['psnr_whole'] < 60
    assert '| mean face |' in proc.stdout and '| blender |' in proc.stdout
    # grids: one row per held-out frame (+ a header), one column per image kind
    grid = cv2.imread(str(out / 'stage1' / 'stage1_held_out.png'))
    assert grid.shape[0] == 24 + 12 * 48 and grid.shape[1] == 6 * 48
    seen = cv2.imread(str(out / 'stage1' / 'stage1_training_drivers.png'))
    assert seen.shape[0] == 24 + 12 * 48 and seen.shape[1] == 4 * 48
    assert cv2.imread(str(out / 'stage2' / 'stage2_held_out.png')) is not None
    # the held-out images themselves: the targets are the held-out frames
    arrays = np.load(out / 'stage1' / 'stage1_held_out.npz')
    assert arrays['raw'].shape == arrays['target'].shape == (12, 3, 32, 32)
    assert arrays['raw'].dtype == np.uint8 and not np.array_equal(arrays['raw'], arrays['target'])


def test_learning_check_bad_data_root_is_one_line(tmp_path):
    proc = run_tool(['tools/analysis_tools/learning_check.py', '--budget', '1', '--data-root',
                     str(tmp_path / 'missing'), '--out', str(tmp_path / 'o')], check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'index.json: no such file' in lines[0], proc.stderr


class _StubScorer:
    """Landmarks from a table: the output with value v gets points v (score 1)."""

    def __init__(self):
        from tests.test_tools.tool_loader import load_tool
        self.lc = load_tool('tools/analysis_tools/learning_check.py')

    def __call__(self, images):
        pts = np.stack([np.full((68, 2), float(img[0, 0, 0])) for img in images])
        pts[:, 36, 0] -= 10  # outer eye corners 20 px apart: inter-ocular distance 20
        pts[:, 45, 0] += 10
        return pts, np.ones(len(images))

    def akd(self, pred, driver, size):
        return np.abs(pred - driver).mean((1, 2)) / 20

    def mouth_opening(self, points):
        return np.zeros(len(points))


def test_akd_counts_the_drivers_the_landmarker_can_read():
    """AKD is the mean over drivers whose landmark score is >= 0.5; akd_all over all of them.
    The rule depends on the drivers only: an output whose points are far off on a readable
    driver still counts."""
    scorer = _StubScorer()
    n = 4
    outputs = torch.zeros(n, 3, 16, 16, dtype=torch.uint8)
    outputs[:, :, 0, 0] = torch.tensor([10, 10, 50, 10]).view(n, 1)  # third: off by 40
    driver_points = np.stack([np.full((68, 2), 10.0)] * n)
    driver_points[:, 36, 0] -= 10
    driver_points[:, 45, 0] += 10
    driver_points[1] += 200  # unreadable driver: its points are wherever
    scores = np.array([1.0, 0.05, 0.9, 0.5])
    masks = torch.ones(n, 1, 16, 16)
    row = scorer.lc.score_stage1(outputs, masks, outputs.clone(), masks, scorer,
                                 (driver_points, scores))
    per = row['per_frame']['akd']
    assert row['landmarks_kept'] == '3/4'
    assert row['akd'] == pytest.approx(np.mean([per[0], per[2], per[3]]))
    assert row['akd'] > 0.5  # the far-off output on a readable driver counts
    assert row['akd_all'] == pytest.approx(np.mean(per)) and row['akd_all'] > row['akd']
    assert row['per_frame']['driver_landmark_score'] == [1.0, 0.05, 0.9, 0.5]
