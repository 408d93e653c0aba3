"""The preparation loop with stand-in models (no optional packages needed): image folders,
filters, degenerate landmarks, an exception in one clip."""
import json
import os
import os.path as osp

import cv2
import numpy as np

from headswap.datasets.preparation import prepare_dataset, template_points
from headswap.models.frozen import (BaseFaceDetector, BaseFaceLandmarker, BaseFaceParser,
                                    FaceDetections)
from headswap.registry import MODELS

# the 68 points of a face in a 200x200 image whose 5 alignment points sit on the template
_FACE = np.zeros((68, 2))
_FACE[:] = [100, 110]
_t = template_points(1.0, 80) + [60, 60]
_FACE[36:42], _FACE[42:48], _FACE[30], _FACE[48], _FACE[54] = _t[0], _t[1], _t[2], _t[3], _t[4]


@MODELS.register_module(force=True)
class BoxByBrightnessDetector(BaseFaceDetector):
    """One face in images brighter than 50, none otherwise; two faces if brighter than 200."""

    def detect(self, images):
        out = []
        for img in images:
            m = img.mean()
            n = 0 if m < 50 else 2 if m > 200 else 1
            boxes = np.array([[60, 60, 140, 140]] * n, np.float32).reshape(-1, 4)
            out.append(FaceDetections(boxes, np.ones(n, np.float32)) if n else
                       FaceDetections.empty())
        return out


@MODELS.register_module(force=True)
class FixedLandmarker(BaseFaceLandmarker):
    """The same face in every box (``_FACE`` in the detector's box, scaled with the box, as
    a crop's face window is read); collapsed points for images of brightness 77."""

    def predict(self, images, boxes, keypoints=None):
        pts = np.stack([(_FACE - 60) / 80 * (b[2] - b[0]) + b[:2] if round(img.mean()) != 77
                        else np.zeros((68, 2)) for img, b in zip(images, boxes)])
        return pts.astype(np.float32), np.ones(len(images), np.float32)


@MODELS.register_module(force=True)
class ThresholdParser(BaseFaceParser):
    name = 'ThresholdParser (test)'

    def parse(self, images, landmarks=None):
        if any(round(img.mean()) == 99 for img in images):
            raise RuntimeError('parser exploded')
        return np.stack([(img[..., 0] > 10).astype(np.uint8) for img in images])


MODELS_CFG = dict(detector=dict(type='BoxByBrightnessDetector'),
                  landmarker=dict(type='FixedLandmarker'), parser=dict(type='ThresholdParser'))


def _photos(folder, values):
    os.makedirs(folder, exist_ok=True)
    for i, v in enumerate(values):
        img = np.full((200, 200, 3), v, np.uint8)
        cv2.imwrite(osp.join(folder, f'{i:03d}.png'), img)


def test_image_folders_filters_and_failures(tmp_path):
    src = str(tmp_path / 'in')
    _photos(osp.join(src, 'alice', 'studio'), [120, 30, 230, 77, 130])  # ok, none, two, flat, ok
    _photos(osp.join(src, 'bob', 'studio'), [99])                        # the parser raises
    _photos(src, [140])                                                  # a photo in the root
    out = str(tmp_path / 'out')
    summary = prepare_dataset(src, out, dict(min_face_size=10, min_blur=0), progress=False,
                              **MODELS_CFG)
    assert summary['frames_dropped'] == dict(no_face=1, small_face=0, several_faces=1,
                                             low_landmark_score=1, blurry=0)
    (path, reason), = summary['clips_failed']
    assert path.endswith(osp.join('bob', 'studio')) and 'RuntimeError: parser exploded' in reason
    index = json.load(open(osp.join(out, 'index.json')))
    keys = [(e['identity'], e['video'], e['clip'], e['frame']) for e in index['data_list']]
    assert keys == [('000', 'images', '00000', 0), ('alice', 'studio', '00000', 0),
                    ('alice', 'studio', '00000', 4)]
    assert index['metainfo']['parser'] == 'ThresholdParser (test)'
    e = index['data_list'][1]
    # landmarks on the template land where the template puts them (crop_scale 2.0)
    lm = np.asarray(e['landmarks'])
    np.testing.assert_allclose(lm[36:42].mean(0), template_points(2.0, 512)[0], atol=0.05)
    assert e['quality']['landmark_score'] == 1.0 and e['quality']['face_size'] == 80.0
    parsing = cv2.imread(osp.join(out, e['parsing_path']), cv2.IMREAD_UNCHANGED)
    assert parsing.shape == (512, 512) and set(np.unique(parsing)) <= {0, 1}


def _video(path, values, side=200):
    import av
    os.makedirs(osp.dirname(path), exist_ok=True)
    with av.open(path, 'w') as c:
        s = c.add_stream('libx264', rate=25)
        s.width = s.height = side
        s.pix_fmt = 'yuv420p'
        s.options = {'crf': '0'}
        for v in values:
            img = np.full((side, side, 3), v, np.uint8)
            img[::7] = 255 - v  # some texture, so frames differ in more than brightness
            c.mux(s.encode(av.VideoFrame.from_ndarray(img, format='rgb24')))
        c.mux(s.encode(None))


def _tree(root):
    return {osp.relpath(osp.join(d, f), root): open(osp.join(d, f), 'rb').read()
            for d, _, files in os.walk(root) for f in files if not f.endswith('.json')}


def test_io_threads_and_frame_cache_write_the_same_dataset(tmp_path, monkeypatch):
    """Frames decoded ahead, outputs written by threads and pass 2 reading the frames pass 1
    kept (the defaults) give the same index and the same bytes as everything in one thread
    and the clip decoded twice; a failed write fails its clip."""
    src = str(tmp_path / 'in')
    _video(osp.join(src, 'alice', 'v', '00001.mp4'), [120, 30, 130, 77] * 10)
    _photos(osp.join(src, 'bob', 'studio'), [120, 140, 160])
    from headswap.datasets.preparation import clip_processor
    decodes = []
    real_iter = clip_processor.iter_frames
    monkeypatch.setattr(clip_processor, 'iter_frames',
                        lambda *a: decodes.append(1) or real_iter(*a))
    runs = {}
    # 0.1 MB holds one 200x200 frame: the video (40 frames) goes over it and is decoded again
    for threads, cache in ((0, 0), (3, 1024), (3, 0), (0, 0.1)):
        decodes.clear()
        out = str(tmp_path / f'out{threads}-{cache}')
        summary = prepare_dataset(src, out, dict(min_face_size=10, min_blur=0, batch_size=4,
                                                 io_threads=threads, frame_cache_mb=cache),
                                  progress=False, **MODELS_CFG)
        assert summary['clips_failed'] == []
        index = json.load(open(osp.join(out, 'index.json')))
        runs[threads, cache] = (index['data_list'], _tree(out))
        assert len(decodes) == (2 if cache == 1024 else 4), (threads, cache)  # 2 clips
    entries, files = runs[0, 0]
    assert len(entries) == 40 + 3 and len(files) == 2 * len(entries)
    assert runs[3, 1024] == runs[0, 0] and runs[3, 0] == runs[0, 0] and runs[0, 0.1] == runs[0, 0]

    real = clip_processor.atomic_write_image

    def flaky(path, *args):
        if 'alice' in path and path.endswith('000002.png'):
            raise OSError(f'{path}: disk full')
        return real(path, *args)

    monkeypatch.setattr(clip_processor, 'atomic_write_image', flaky)
    out = str(tmp_path / 'flaky')
    summary = prepare_dataset(src, out, dict(min_face_size=10, min_blur=0, batch_size=4,
                                             io_threads=3), progress=False, **MODELS_CFG)
    (path, reason), = summary['clips_failed']
    assert path.endswith(osp.join('alice', 'v', '00001.mp4')) and 'disk full' in reason
    index = json.load(open(osp.join(out, 'index.json')))
    assert {e['identity'] for e in index['data_list']} == {'bob'}


def test_unknown_setting_is_one_line_before_anything_is_written(tmp_path):
    import pytest

    from headswap.errors import UserError
    src = str(tmp_path / 'in')
    _photos(osp.join(src, 'alice', 'studio'), [120])
    out = tmp_path / 'out'
    with pytest.raises(UserError, match=r"unknown preparation setting 'io_thread' \(did you "
                       r'mean io_threads\?\)'):
        prepare_dataset(src, str(out), dict(io_thread=0), progress=False, **MODELS_CFG)
    assert not out.exists()
