import cv2
import numpy as np
import pytest
import torch

from headswap.evaluation.functional import (IBUG68_FACE_TEMPLATE, camera_matrix, euler_to_rotation,
                                            project_points)
from headswap.evaluation.metrics import PoseExpressionError
from headswap.utils.cli import UserError
from .samples import evaluate, real_frames, sample_dict

SIZE = (256, 256)


def _posed(yaw=0.0, pitch=0.0, roll=0.0, shift=(0.0, 0.0)):
    pts = project_points(IBUG68_FACE_TEMPLATE, euler_to_rotation(yaw, pitch, roll),
                         np.array([0.0, 0.1, 5.0]), camera_matrix(*SIZE))
    return pts + np.asarray(shift)


@pytest.fixture(scope='module')
def metric():
    return PoseExpressionError()


def test_known_rotation_gives_the_known_angle_and_no_expression(metric):
    out = metric.compare(_posed(yaw=25, pitch=-10, roll=5), _posed(), SIZE)
    assert out['yaw'] == pytest.approx(25, abs=1e-3)
    assert out['pitch'] == pytest.approx(10, abs=1e-3)
    assert out['roll'] == pytest.approx(5, abs=1e-3)
    assert out['expression'] == pytest.approx(0, abs=1e-6)
    assert out['akd'] > 0.1


def test_open_mouth_is_expression_not_pose(metric):
    driver = _posed(yaw=15)
    pred = driver.copy()
    iod = np.linalg.norm(driver[45] - driver[36])
    pred[[57, 58, 59, 65, 66, 67, 55, 56]] += np.array([0.0, 0.3 * iod])  # lower lip down
    out = metric.compare(pred, driver, SIZE)
    assert out['yaw'] < 0.5 and out['pitch'] < 0.5
    assert out['expression'] > 0.02


def test_akd_is_normalised_by_the_inter_ocular_distance(metric):
    driver = _posed()
    iod = np.linalg.norm(driver[45] - driver[36])
    out = metric.compare(driver + np.array([0.2 * iod, 0.0]), driver, SIZE)
    assert out['akd'] == pytest.approx(0.2, abs=1e-9)


def test_real_frames_identical_zero_and_in_plane_rotation_is_roll(metric):
    frames = real_frames(256, num=3)
    same = [sample_dict(pred_img=x, driver_img=x.clone()) for x in frames]
    out = evaluate(metric, same)
    for key in ('pose_error', 'yaw_error', 'pitch_error', 'roll_error', 'expression_error',
                'AKD'):
        assert out[key] == pytest.approx(0, abs=1e-9), key
    # the same frames turned 10 degrees in the image plane: a 10 degree roll difference
    rot = cv2.getRotationMatrix2D((128, 128), 10, 1.0)
    turned = [torch.from_numpy(cv2.warpAffine(x.permute(1, 2, 0).numpy(), rot, (256, 256),
                                              borderMode=cv2.BORDER_REFLECT)).permute(2, 0, 1)
              for x in frames]
    out = evaluate(PoseExpressionError(), [sample_dict(pred_img=t, driver_img=x)
                                           for t, x in zip(turned, frames)])
    assert out['roll_error'] == pytest.approx(10, abs=2.0)
    assert out['yaw_error'] < 3 and out['pitch_error'] < 3


def test_low_scores_are_left_out():
    metric = PoseExpressionError(min_score=0.5)
    noise = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=torch.Generator()
                          .manual_seed(0))
    face = real_frames(64, num=1)[0]
    out = evaluate(metric, [sample_dict(pred_img=noise, driver_img=face),
                            sample_dict(pred_img=face, driver_img=face.clone())])
    assert out['landmarks_kept'] == 0.5 and out['pose_error'] == 0.0


def test_images_of_different_sizes_are_refused(metric):
    with pytest.raises(UserError, match='images of different sizes'):
        evaluate(metric, [sample_dict(pred_img=real_frames(64, num=1)[0],
                                      driver_img=real_frames(32, num=1)[0])])
