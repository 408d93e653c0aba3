"""End to end on real media: the converter, a kill and resume, bad inputs, alignment jitter."""
import json
import logging
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest

from headswap.datasets.preparation import prepare_dataset
from headswap.structures.face_labels import PARSING_CLASSES
from ...test_tools.tool_loader import load_tool
from .offline_media import OFFLINE_MODELS, carphone_clip, requires_offline_models

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOOL = osp.join(ROOT, 'tools/dataset_converters/prepare_talking_heads.py')
OFFLINE_CONFIG = osp.join(ROOT, 'configs/data_preparation/talking_heads_offline.py')
# the defaults keep the 176x144 carphone clip (a ~60 px face, sharp at its own resolution)
FAST = dict(stride=8)

pytestmark = requires_offline_models


def _stage(folder, clips):
    for rel in clips:
        path = osp.join(folder, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        shutil.copy(carphone_clip(), path)
    return folder


def test_converter_writes_the_contract_on_the_real_clip(tmp_path):
    src = _stage(str(tmp_path / 'in'), ['id00001/carphone/00001.mp4'])
    out = str(tmp_path / 'out')
    summary = prepare_dataset(src, out, dict(FAST), progress=False, **OFFLINE_MODELS)
    assert summary['clips'] == 1 and summary['frames_decoded'] == 15
    assert summary['frames_kept'] + sum(summary['frames_dropped'].values()) == 15
    assert summary['frames_kept'] == 15 and summary['fps'] > 0
    index = json.load(open(osp.join(out, 'index.json')))
    meta = index['metainfo']
    assert meta['resolution'] == 512 and meta['num_landmarks'] == 68
    assert meta['parsing_classes'] == list(PARSING_CLASSES)
    assert 'approximate' in meta['parser']
    for e in index['data_list']:
        assert (e['identity'], e['video'], e['clip']) == ('id00001', 'carphone', '00001')
        assert e['frame'] % 8 == 0
        assert e['img_path'] == f'frames/id00001/carphone/00001/{e["frame"]:06d}.jpg'
        img = cv2.imread(osp.join(out, e['img_path']))
        parsing = cv2.imread(osp.join(out, e['parsing_path']), cv2.IMREAD_UNCHANGED)
        assert img.shape == (512, 512, 3) and parsing.shape == (512, 512)
        assert parsing.dtype == np.uint8 and parsing.max() <= 18
        lm = np.asarray(e['landmarks'])
        assert lm.shape == (68, 2)
        # aligned: eyes level and where the template puts them (crop_scale 2.0)
        left, right = lm[36:42].mean(0), lm[42:48].mean(0)
        assert abs(left[1] - right[1]) < 12 and 60 < right[0] - left[0] < 100
        assert set(e['quality']) == {'face_size', 'blur', 'landmark_score',
                                     'crop_landmark_score'}
        assert (parsing == 1).mean() > 0.05  # skin found
    # a second run resumes everything and rewrites the same index
    before = open(osp.join(out, 'index.json'), 'rb').read()
    again = prepare_dataset(src, out, dict(FAST), progress=False, **OFFLINE_MODELS)
    assert again['clips_processed'] == 0 and again['clips_resumed'] == 1
    assert open(osp.join(out, 'index.json'), 'rb').read() == before


_KILL_AFTER_FIRST_SHARD = '''
import os, runpy, signal, sys
import headswap.datasets.preparation.prepare as prepare
write = prepare.atomic_write_json
def write_then_die(path, obj):
    write(path, obj)
    if os.sep + '.shards' + os.sep in path and not path.endswith('settings.json'):
        os.kill(os.getpid(), signal.SIGKILL)
prepare.atomic_write_json = write_then_die
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def test_killed_run_resumes_to_the_same_index(tmp_path):
    clips = [f'id{i}/vid/00001.mp4' for i in range(4)]
    src = _stage(str(tmp_path / 'in'), clips)
    args = [src, '--config', OFFLINE_CONFIG, '--stride', '8', '--no-progress',
            '--cfg-options', 'preparation.min_face_size=32', 'preparation.min_blur=0']
    ref = str(tmp_path / 'ref')
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, TOOL, args[0], ref] + args[1:], check=True, env=env,
                   capture_output=True)

    out = str(tmp_path / 'out')
    # a power cut right after the first clip's shard is written: the tool, run as users run it,
    # kills itself (SIGKILL, no cleanup) from its shard writer; deterministic, no polling race
    proc = subprocess.run([sys.executable, '-c', _KILL_AFTER_FIRST_SHARD, TOOL, args[0], out]
                          + args[1:], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-3000:]
    shards = osp.join(out, '.shards')
    done = [f for _, _, fs in os.walk(shards) for f in fs if f.endswith('.json')
            and f != 'settings.json']
    assert len(done) == 1
    assert not osp.exists(osp.join(out, 'index.json'))

    # what a kill during a write leaves: temporary files (cleaned up when their clip is redone)
    planted = [osp.join(out, '.tmp-index'), osp.join(out, 'frames/id3/vid/00001/.tmp-frame')]
    for path in planted:
        os.makedirs(osp.dirname(path), exist_ok=True)
        open(path, 'wb').write(b'half')
    summary = load_tool(TOOL).main([args[0], out] + args[1:])  # the same command, rerun
    assert summary['clips_resumed'] == len(done)
    assert summary['clips_processed'] == 4 - len(done)
    assert open(osp.join(out, 'index.json'), 'rb').read() == \
        open(osp.join(ref, 'index.json'), 'rb').read()
    leftovers = [f for _, _, fs in os.walk(out) for f in fs if f.startswith('.tmp-')]
    assert leftovers == []


def _no_face_video(path):
    import av
    with av.open(path, 'w') as c:
        stream = c.add_stream('mpeg4', rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, 'yuv420p'
        for i in range(16):
            img = np.zeros((48, 64, 3), np.uint8)
            img[:, :, 1] = i * 10
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format='rgb24')):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)


def test_bad_inputs_are_logged_and_skipped(tmp_path, caplog):
    src = str(tmp_path / 'in')
    good = 'speaker ünï/vídeo 1/00001.mp4'
    _stage(src, [good])
    data = open(carphone_clip(), 'rb').read()
    for rel, content in (('trunc/v/00001.mp4', data[:len(data) // 3]),
                         ('zero/v/00001.mp4', b''),
                         ('text/v/00001.mp4', b'this is not a video\n' * 50),
                         ('notes.txt', b'hello')):
        os.makedirs(osp.dirname(osp.join(src, rel)) or src, exist_ok=True)
        open(osp.join(src, rel), 'wb').write(content)
    os.makedirs(osp.join(src, 'noface/v'))
    _no_face_video(osp.join(src, 'noface/v/00001.mp4'))

    out = str(tmp_path / 'out')
    with caplog.at_level(logging.WARNING, logger='headswap.prepare'):
        summary = prepare_dataset(src, out, dict(FAST), progress=False, **OFFLINE_MODELS)
    failed = {osp.relpath(p, src): reason for p, reason in summary['clips_failed']}
    assert set(failed) == {'trunc/v/00001.mp4', 'zero/v/00001.mp4', 'text/v/00001.mp4'}
    assert 'empty file (0 bytes)' in failed['zero/v/00001.mp4']
    assert 'not a readable video' in failed['text/v/00001.mp4']
    assert 'not a readable video' in failed['trunc/v/00001.mp4']
    for rel in failed:
        assert any(rel in r.getMessage() for r in caplog.records)
    assert any('notes.txt' in r.getMessage() and 'ignored' in r.getMessage()
               for r in caplog.records)
    assert summary['frames_dropped']['no_face'] == 2  # 16 frames at stride 8
    index = json.load(open(osp.join(out, 'index.json')))
    assert {e['identity'] for e in index['data_list']} == {'speaker ünï'}
    kept = [e['img_path'] for e in index['data_list']]
    assert all(osp.isfile(osp.join(out, p)) for p in kept)

    # a new bad file and a rerun: finished clips are not redone and nothing is lost
    stamp = {p: os.stat(osp.join(out, p)).st_mtime_ns for p in kept}
    open(osp.join(src, 'zero/v/00002.mp4'), 'wb').write(b'')
    summary = prepare_dataset(src, out, dict(FAST), progress=False, **OFFLINE_MODELS)
    assert summary['clips_processed'] == 1 and summary['clips_resumed'] == 5
    assert len(summary['clips_failed']) == 4
    assert {p: os.stat(osp.join(out, p)).st_mtime_ns for p in kept} == stamp
    assert json.load(open(osp.join(out, 'index.json')))['data_list'] == index['data_list']


def test_other_settings_cannot_resume_the_same_folder(tmp_path):
    from headswap.utils.cli import UserError
    src = _stage(str(tmp_path / 'in'), ['a/v/00001.mp4'])
    out = str(tmp_path / 'out')
    prepare_dataset(src, out, dict(FAST, max_frames=2), progress=False, **OFFLINE_MODELS)
    with pytest.raises(UserError, match='crop_scale'):
        prepare_dataset(src, out, dict(FAST, max_frames=2, crop_scale=1.5), progress=False,
                        **OFFLINE_MODELS)


def test_a_folder_prepared_before_a_setting_existed_resumes_at_its_old_behaviour(tmp_path):
    """settings.json of a folder prepared before landmarks_on_crop / mirrored_landmarks
    existed lacks them: today's defaults refuse it with the options that resume it, and
    those resume it (not 'differ' for ever, whatever the user passes)."""
    from headswap.utils.cli import UserError
    src = _stage(str(tmp_path / 'in'), ['a/v/00001.mp4'])
    out = str(tmp_path / 'out')
    prepare_dataset(src, out, dict(FAST, max_frames=2), progress=False, **OFFLINE_MODELS)
    path = osp.join(out, '.shards', 'settings.json')
    old = json.load(open(path))
    for key in ('landmarks_on_crop', 'mirrored_landmarks'):
        del old['settings'][key]
    json.dump(old, open(path, 'w'))
    with pytest.raises(UserError) as err:
        prepare_dataset(src, out, dict(FAST, max_frames=2), progress=False, **OFFLINE_MODELS)
    assert ('landmarks_on_crop, mirrored_landmarks differ' in str(err.value)
            and 'preparation.landmarks_on_crop=False preparation.mirrored_landmarks=False'
            in str(err.value))
    summary = prepare_dataset(src, out, dict(FAST, max_frames=2, landmarks_on_crop=False,
                                             mirrored_landmarks=False),
                              progress=False, **OFFLINE_MODELS)
    assert summary['clips_resumed'] == 1 and summary['clips_processed'] == 0


def test_landmarks_are_those_the_crop_shows(tmp_path):
    """The stored landmarks are a reading of the written crop (in its face window), not the
    source frame's moved into it: on the 176x144 clip the two differ by several crop pixels
    from frame to frame, which a landmark-conditioned generator would learn as noise."""
    from headswap.face.alignment import face_window
    from headswap.face.quality import build_component
    from headswap.evaluation.functional import inter_ocular_distance
    src = _stage(str(tmp_path / 'in'), ['a/v/00001.mp4'])
    landmarker = build_component(OFFLINE_MODELS['landmarker'])
    window = face_window(512, 2.0)

    def gap(points, read):
        return np.mean([np.linalg.norm(np.asarray(q) - p, axis=1).mean()
                        / inter_ocular_distance(p) for q, p in zip(points, read)])

    gaps, written = {}, {}
    for on in (True, False):
        out = str(tmp_path / f'out_{on}')
        # the mirrored reading is the pair of a crop reading: none with the moved points
        prepare_dataset(src, out, dict(FAST, landmarks_on_crop=on, mirrored_landmarks=True),
                        progress=False, **OFFLINE_MODELS)
        rows = json.load(open(osp.join(out, 'index.json')))['data_list']
        crops = [cv2.imread(osp.join(out, r['img_path']))[..., ::-1].copy() for r in rows]
        read, _ = landmarker.predict(crops, np.repeat(window[None], len(crops), 0))
        gaps[on] = gap([r['landmarks'] for r in rows], read)
        assert ('crop_landmark_score' in rows[0]['quality']) == on
        assert all(('landmarks_mirrored' in r) == on for r in rows)
        written[on] = rows, crops
    print(f'stored vs read on the written crop, inter-ocular distances: on the crop '
          f'{gaps[True]:.4f}, moved from the frame {gaps[False]:.4f}')
    assert gaps[True] < 0.01  # the JPEG of the written crop is all that differs
    assert gaps[False] > 2 * gaps[True]
    # the mirrored crops: the stored reading of each against the mirror of the reading
    # (what FaceFlip's rule would give), both against the landmarker on the mirrored crop
    from headswap.structures.face_labels import ibug68_flip_index
    rows, crops = written[True]
    flipped = [np.ascontiguousarray(c[:, ::-1]) for c in crops]
    read_flipped, _ = landmarker.predict(flipped, np.repeat(window[None], len(crops), 0))
    mirrored = np.asarray([r['landmarks'] for r in rows])[:, ibug68_flip_index()]
    mirrored[..., 0] = 511 - mirrored[..., 0]
    stored, rule = (gap([r['landmarks_mirrored'] for r in rows], read_flipped),
                    gap(mirrored, read_flipped))
    print(f'mirrored crops: stored reading {stored:.4f}, mirrored reading {rule:.4f}')
    assert stored < 0.01 and rule > 3 * stored


def test_smoothing_steadies_the_crops_of_the_real_clip():
    from headswap.datasets.preparation import ClipProcessor, ClipSource
    proc = ClipProcessor(dict(stride=1, max_frames=60, min_face_size=32),
                         OFFLINE_MODELS['detector'], OFFLINE_MODELS['landmarker'], None)
    result = proc.alignment_jitter(ClipSource('a', 'v', 'c', 'video', [carphone_clip()]),
                                   sigmas=(0.0, 2.0))
    raw, smooth = result[0.0], result[2.0]
    print(f'jitter at 512 px, sigma 0 -> 2: eye region {raw["eye_jitter"]:.2f} -> '
          f'{smooth["eye_jitter"]:.2f}, crop {raw["crop_jitter"]:.2f} -> '
          f'{smooth["crop_jitter"]:.2f}')
    assert raw['pairs'] >= 55
    # the picture stops shaking with landmark noise ...
    assert smooth['crop_jitter'] < 0.3 * raw['crop_jitter']
    # ... while the eyes stay nearly pinned (real head motion shows a little)
    assert smooth['eye_jitter'] < 2.0 * raw['eye_jitter'] and smooth['eye_jitter'] < 4.0


def test_smoothing_removes_jitter_on_a_still_head(tmp_path):
    """A real photo held still (fresh sensor noise + H.264 per frame): all motion is jitter."""
    import importlib.util

    from headswap.datasets.preparation import ClipProcessor, ClipSource
    spec = importlib.util.spec_from_file_location(
        'alignment_jitter', osp.join(ROOT, 'tools/analysis_tools/alignment_jitter.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    clip = tool.write_still_clip('astronaut', str(tmp_path / 'still.mp4'), frames=24)
    proc = ClipProcessor(dict(stride=1, max_frames=0, min_face_size=32),
                         OFFLINE_MODELS['detector'], OFFLINE_MODELS['landmarker'], None)
    result = proc.alignment_jitter(ClipSource('a', 'v', 'c', 'video', [clip]), (0.0, 2.0))
    raw, smooth = result[0.0], result[2.0]
    print(f'still head, jitter at 512 px, sigma 0 -> 2: eye region {raw["eye_jitter"]:.3f} -> '
          f'{smooth["eye_jitter"]:.3f}, crop {raw["crop_jitter"]:.3f} -> '
          f'{smooth["crop_jitter"]:.3f}')
    assert raw['pairs'] == 23
    assert smooth['eye_jitter'] < 0.6 * raw['eye_jitter']
    assert smooth['crop_jitter'] < 0.3 * raw['crop_jitter']


@pytest.mark.parametrize('workers', [0, 2])
def test_a_model_that_cannot_load_stops_every_worker_count(tmp_path, workers):
    """Missing landmark weights: one line naming the file and exit 2, with workers too (a
    failing pool initializer used to respawn its workers forever)."""
    src = _stage(str(tmp_path / 'in'), ['id00001/carphone/00001.mp4'])
    missing = tmp_path / 'missing_rtmpose.pth'
    config = tmp_path / 'prep.py'
    config.write_text(
        f'_base_ = [{OFFLINE_CONFIG!r}]\n'
        "landmarker = dict(_delete_=True, type='MMPoseFaceLandmarker',\n"
        "    config='mmpose::face_2d_keypoint/rtmpose/coco_wholebody_face/'\n"
        "    'rtmpose-m_8xb32-60e_coco-wholebody-face-256x256.py',\n"
        f"    checkpoint={str(missing)!r}, device='cpu')\n")
    proc = subprocess.run([sys.executable, TOOL, src, str(tmp_path / 'out'), '--config',
                           str(config), '--workers', str(workers)], capture_output=True,
                          text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if 'error:' in line]
    assert len(errors) == 1 and f'{missing}: no such weights file' in errors[0]


def test_devices_spread_the_clips_and_write_the_same_index(tmp_path):
    """One command for every GPU of a node (here two CPU 'devices'): a worker per device, the
    clips shared among them, the index the same as one process writes, per-device counts."""
    src = _stage(str(tmp_path / 'in'), [f'id{i}/vid/00001.mp4' for i in range(3)])
    ref = prepare_dataset(src, str(tmp_path / 'ref'), dict(FAST), progress=False,
                          **OFFLINE_MODELS)
    got = prepare_dataset(src, str(tmp_path / 'out'), dict(FAST), progress=False,
                          devices=['cpu', 'cpu:0'], **OFFLINE_MODELS)
    assert got['clips_processed'] == 3 and got['frames_kept'] == ref['frames_kept'] > 0
    assert sum(got['clips_per_device'].values()) == 3
    assert set(got['clips_per_device']) <= {'cpu', 'cpu:0'}
    assert open(tmp_path / 'out' / 'index.json', 'rb').read() == \
        open(tmp_path / 'ref' / 'index.json', 'rb').read()
    from headswap.datasets.preparation import format_summary
    assert 'clips per device: ' in format_summary(got)


@pytest.mark.parametrize('gpus, message', [('3', 'CUDA device(s) visible'),
                                           ('two', "a number of GPUs or 'all'")])
def test_gpus_beyond_what_is_visible_is_one_line(tmp_path, gpus, message):
    proc = subprocess.run([sys.executable, TOOL, str(tmp_path), str(tmp_path / 'out'),
                           '--gpus', gpus], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT, CUDA_VISIBLE_DEVICES='',
                                   HEADSWAP_DEBUG=''), timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and 'Traceback' not in proc.stderr
    assert not osp.exists(tmp_path / 'out')
