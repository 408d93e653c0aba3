"""What the web demo needs besides its page: face thumbnails and picks, the checkpoints found
locally (each loaded once), session folders and upload limits (issue 19)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from headswap.apis.demo_sessions import SessionFolders, UploadLimits, check_upload
from headswap.apis.face_gallery import (face_thumbnails, faces_left_to_right, first_frame,
                                        keep_one_face)
from headswap.apis.model_catalog import ModelCatalog, ModelEntry, checkpoint_kind, find_models
from headswap.errors import UserError
from headswap.models.frozen import YuNetFaceDetector
from tests.test_apis.media_fixtures import astronaut, paste, sample_frame, scene, write_clip
from tests.test_tools.tool_loader import load_tool

TINY = 'configs/inference/headswap_offline_tiny-64.py'


class Detector:
    """The part of FaceAnalysis the gallery uses."""

    def __init__(self):
        self.detect = YuNetFaceDetector().detect


def two_faces() -> np.ndarray:  # the astronaut left (larger), the carphone man right
    return paste(paste(scene(400, 200), astronaut(), 10, 10, 180), sample_frame(0), 250, 30, 140)


def test_thumbnails_follow_the_selector_order_and_one_face_is_kept():
    a, img = Detector(), two_faces()
    det = faces_left_to_right(a, img)
    assert len(det) == 2 and det.boxes[0, 0] < det.boxes[1, 0]
    thumbs = face_thumbnails(a, img, size=64)
    assert [t.shape for t in thumbs] == [(64, 64, 3)] * 2
    right = keep_one_face(a, img, 1)  # the smaller face on the right stays, the other goes
    left_box = det.boxes[0].astype(int)
    assert len(a.detect([right])[0]) == 1
    assert np.array_equal(right[:, 250:], img[:, 250:])
    assert not np.array_equal(right[left_box[1]:left_box[3], left_box[0]:left_box[2]],
                              img[left_box[1]:left_box[3], left_box[0]:left_box[2]])
    with pytest.raises(UserError, match='has 2 face'):
        keep_one_face(a, img, 2)


def test_upload_limits_and_first_frame(tmp_path):
    photo = str(tmp_path / 'p.png')
    cv2.imwrite(photo, scene(300, 200))
    limits = UploadLimits(max_file_mb=1, max_megapixels=0.05, max_video_seconds=0.2)
    with pytest.raises(UserError, match=r'source 1 p.png is too large \(300x200'):
        check_upload(photo, limits, 'source 1')
    assert check_upload(photo, UploadLimits()) == 'image'
    clip = str(tmp_path / 'c.mp4')
    write_clip(clip, [scene(64, 48, seed=i) for i in range(10)], audio=False)
    assert first_frame(clip).shape == (48, 64, 3)
    with pytest.raises(UserError, match='c.mp4 is too long'):
        check_upload(clip, limits, 'target')
    with pytest.raises(UserError, match='not a photo'):
        check_upload(clip, UploadLimits(), 'source 1', allow_video=False)
    assert check_upload(clip, UploadLimits(), 'target') == 'video'
    junk = tmp_path / 'j.jpg'
    junk.write_bytes(b'\xff\xd8 nothing')
    with pytest.raises(UserError, match='j.jpg: not a readable image'):
        check_upload(str(junk), UploadLimits())
    big = tmp_path / 'big.bin.png'
    big.write_bytes(b'\0' * (2 * 2**20))
    with pytest.raises(UserError, match=r'too large \(2 MB'):
        check_upload(str(big), limits)


def test_session_folders_are_private_and_removed(tmp_path):
    folders = SessionFolders(str(tmp_path / 'root'))
    a, b = 'session-a', '../b'  # ids come from browsers: never a path
    run_a, run_b = folders.new_run(a), folders.new_run(b)
    assert osp.dirname(run_a) != osp.dirname(run_b)
    open(osp.join(run_a, 'x.png'), 'w').close()
    again = folders.new_run(a)  # a session keeps its latest run only
    assert not osp.exists(run_a) and osp.isdir(again)
    folders.remove(a)
    assert not osp.exists(osp.dirname(again)) and osp.isdir(run_b) and folders.active == 1
    assert osp.dirname(osp.dirname(run_b)) == str(tmp_path / 'root')
    with pytest.raises(ValueError):
        folders.new_run('')
    folders.close()
    assert not osp.exists(str(tmp_path / 'root'))


def test_checkpoints_found_and_loaded_once(tmp_path):
    ckpts = load_tool('tools/misc/make_tiny_checkpoints.py').make_tiny_checkpoints(
        str(tmp_path / 'run' / 'tiny'), iters=0)
    aligner, blender = ckpts['head2head_aligner_tiny.pth'], ckpts['head2scene_blender_tiny.pth']
    assert checkpoint_kind(aligner) == 'aligner' and checkpoint_kind(blender) == 'blender'
    state = {f'aligner.{k}': v for k, v in torch.load(aligner)['state_dict'].items()}
    state.update({f'blender.{k}': v for k, v in torch.load(blender)['state_dict'].items()})
    torch.save(dict(state_dict=state), str(tmp_path / 'run' / 'swapper.pth'))
    (tmp_path / 'run' / 'broken.pth').write_bytes(b'not a checkpoint')
    entries = find_models(TINY, [str(tmp_path / 'run'), str(tmp_path / 'missing')],
                          root=str(tmp_path))
    assert [e.label for e in entries] == [
        'run/swapper.pth (weights)',
        'run/tiny (stages head2head_aligner_tiny.pth + head2scene_blender_tiny.pth)']
    assert entries[0].weights.endswith('swapper.pth')
    assert entries[1].cfg_options == {'model.aligner_checkpoint': aligner,
                                      'model.blender_checkpoint': blender}
    built = []
    catalog = ModelCatalog(entries + [ModelEntry(entries[0].label, TINY)],
                           lambda e: built.append(e) or object(), keep=1)
    assert len(catalog.labels) == 3 and catalog.labels[2].endswith('#2')
    first = catalog.get()
    assert catalog.get(catalog.labels[0]) is first and len(built) == 1  # loaded once
    catalog.get(catalog.labels[1])
    assert catalog.get() is not first and len(built) == 3  # keep=1: the oldest went
    with pytest.raises(UserError, match='unknown checkpoint'):
        catalog.get('nope')
    with pytest.raises(UserError, match='no checkpoints found'):
        ModelCatalog([], lambda e: None)
    os.remove(str(tmp_path / 'run' / 'swapper.pth'))
