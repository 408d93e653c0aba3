import cv2
import numpy as np
import pytest

from headswap.evaluation.functional import (IBUG68_FACE_TEMPLATE, camera_matrix, euler_to_rotation,
                                            project_points, rotation_to_euler, solve_head_pose)
from tests.test_tools.tool_loader import load_tool


@pytest.mark.parametrize('angles', [(0, 0, 0), (30, -15, 10), (-60, 20, -25), (10, 35, 0)])
def test_pnp_recovers_known_rotations(angles):
    rot = euler_to_rotation(*angles)
    np.testing.assert_allclose(rotation_to_euler(rot), angles, atol=1e-9)
    pts = project_points(IBUG68_FACE_TEMPLATE, rot, np.array([0.2, -0.1, 4.0]),
                         camera_matrix(512, 512))
    _, trans, euler = solve_head_pose(pts, (512, 512))
    np.testing.assert_allclose(euler, angles, atol=1e-3)
    np.testing.assert_allclose(trans, [0.2, -0.1, 4.0], atol=1e-4)


AXES = {'yaw': (0, 1, 0), 'pitch': (1, 0, 0), 'roll': (0, 0, 1)}


def _axis_rotation(axis: str, degrees: float) -> np.ndarray:
    """A rotation about one camera axis by OpenCV's Rodrigues formula (not the module's code)."""
    return cv2.Rodrigues(np.deg2rad(degrees) * np.asarray(AXES[axis], np.float64))[0]


@pytest.mark.parametrize('axis', sorted(AXES))
@pytest.mark.parametrize('degrees', [-40, 25])
def test_single_axis_rotations_are_named_independently(axis, degrees):
    """A known rotation about one axis, made and projected by OpenCV, reads as that angle only.

    The round trip ``rotation_to_euler(euler_to_rotation(...))`` cannot catch a convention
    error both functions share (a swapped axis, a flipped sign); this builds the rotation and
    the landmarks without the module under test.
    """
    rot = _axis_rotation(axis, degrees)
    expected = [degrees if axis == name else 0 for name in ('yaw', 'pitch', 'roll')]
    np.testing.assert_allclose(rotation_to_euler(rot), expected, atol=1e-9)
    np.testing.assert_allclose(euler_to_rotation(*expected), rot, atol=1e-12)
    trans = np.array([0.2, -0.1, 4.0])
    pts = cv2.projectPoints(IBUG68_FACE_TEMPLATE.astype(np.float64), cv2.Rodrigues(rot)[0],
                            trans, camera_matrix(512, 512), None)[0][:, 0]
    _, got_trans, euler = solve_head_pose(pts, (512, 512))
    np.testing.assert_allclose(euler, expected, atol=1e-3)
    np.testing.assert_allclose(got_trans, trans, atol=1e-4)


def test_composed_rotation_order_is_roll_yaw_pitch():
    """``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` composed from independent single-axis rotations."""
    yaw, pitch, roll = 30, -15, 10
    rot = _axis_rotation('roll', roll) @ _axis_rotation('yaw', yaw) @ _axis_rotation('pitch', pitch)
    np.testing.assert_allclose(euler_to_rotation(yaw, pitch, roll), rot, atol=1e-12)
    np.testing.assert_allclose(rotation_to_euler(rot), [yaw, pitch, roll], atol=1e-9)
    # hand-computed: 90 degrees of roll turns the camera x axis into y (y down: clockwise)
    np.testing.assert_allclose(euler_to_rotation(0, 0, 90) @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_template_is_symmetric_frontal_unit_iod():
    t = IBUG68_FACE_TEMPLATE
    assert t.shape == (68, 3)
    assert np.linalg.norm(t[45] - t[36]) == pytest.approx(1, abs=1e-3)
    np.testing.assert_allclose(t[0] * [-1, 1, 1], t[16], atol=1e-4)  # jaw ends mirror
    assert t[30, 2] < t[36, 2] - 0.2  # nose tip nearer the camera than the eye corners
    assert t[8, 1] > t[30, 1] > t[27, 1]  # chin below nose tip below nose bridge


def test_template_is_what_the_tool_makes():
    tool = load_tool('tools/misc/make_face_template.py')
    np.testing.assert_allclose(tool.make_template(tool.DEFAULT_IMAGE), IBUG68_FACE_TEMPLATE,
                               atol=2e-3)
