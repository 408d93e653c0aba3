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
