"""Head pose from 68 iBUG landmarks by PnP against a 3D face template, and pose-free offsets.

Conventions (camera frame, as OpenCV): x to the image's right, y down, z away from
the camera. A pinhole camera with focal length = image width and the principal
point at the image centre (the usual choice when the crop's camera is unknown).
Angles are degrees of ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)``, so that at zero pose
the template faces the camera with its eyes level.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from headswap.structures.face_labels import ibug68_flip_index
from .face_template import IBUG68_FACE_TEMPLATE

__all__ = [
    'RIGID_POINTS', 'EXPRESSION_POINTS', 'camera_matrix', 'solve_head_pose',
    'rotation_to_euler', 'euler_to_rotation', 'project_points', 'expression_offsets',
    'frontal_template', 'inter_ocular_distance'
]

# points that barely move with expression: upper jaw, nose, eye corners
RIGID_POINTS = (0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
# brows, eyes, mouth
EXPRESSION_POINTS = tuple(range(17, 27)) + tuple(range(36, 48)) + tuple(range(48, 68))


def inter_ocular_distance(landmarks: np.ndarray) -> np.ndarray:
    """Outer eye-corner distance (points 36 and 45, as 300-W): ``(..., 68, 2)`` -> ``(...)``."""
    return np.linalg.norm(landmarks[..., 36, :] - landmarks[..., 45, :], axis=-1)


def camera_matrix(width: int, height: int) -> np.ndarray:
    """``(3, 3)`` intrinsics: focal length = width, principal point at the centre."""
    f = float(width)
    return np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1]], np.float64)


def euler_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Degrees -> ``(3, 3)`` ``Rz(roll) @ Ry(yaw) @ Rx(pitch)``."""
    y, p, r = np.deg2rad([yaw, pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def rotation_to_euler(rot: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation -> ``(yaw, pitch, roll)`` degrees (inverts :func:`euler_to_rotation`)."""
    yaw = np.arcsin(np.clip(-rot[2, 0], -1.0, 1.0))
    pitch = np.arctan2(rot[2, 1], rot[2, 2])
    roll = np.arctan2(rot[1, 0], rot[0, 0])
    return np.rad2deg([yaw, pitch, roll])


def project_points(points: np.ndarray, rot: np.ndarray, trans: np.ndarray,
                   camera: np.ndarray) -> np.ndarray:
    """``(N, 3)`` template points posed by ``(rot, trans)`` -> ``(N, 2)`` pixels."""
    cam = points @ rot.T + trans
    uv = cam @ camera.T
    return uv[:, :2] / uv[:, 2:3]


def solve_head_pose(landmarks: np.ndarray, image_size: Sequence[int],
                    template: Optional[np.ndarray] = None,
                    points: Sequence[int] = RIGID_POINTS
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Head pose of one face by PnP (EPnP, refined by Levenberg-Marquardt).

    Args:
        landmarks: ``(68, 2)`` iBUG points in pixels.
        image_size: ``(width, height)`` of the image they are in.
        template: ``(68, 3)`` 3D template; :data:`IBUG68_FACE_TEMPLATE` when None.
        points: Template points used (the rigid ones by default).

    Returns:
        Rotation ``(3, 3)``, translation ``(3,)`` and ``(yaw, pitch, roll)`` degrees.
    """
    import cv2
    template = IBUG68_FACE_TEMPLATE if template is None else np.asarray(template, np.float64)
    idx = list(points)
    obj = np.ascontiguousarray(template[idx], np.float64)
    img = np.ascontiguousarray(np.asarray(landmarks, np.float64)[idx])
    cam = camera_matrix(int(image_size[0]), int(image_size[1]))
    ok, rvec, tvec = cv2.solvePnP(obj, img, cam, None, flags=cv2.SOLVEPNP_EPNP)
    if not ok or tvec[2, 0] <= 0:  # EPnP failed or put the face behind the camera
        rvec = np.zeros((3, 1))
        tvec = np.array([[0.0], [0.0], [cam[0, 0] * 3.0]])
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, cam, None, rvec, tvec)
    rot = cv2.Rodrigues(rvec)[0]
    return rot, tvec.reshape(3), rotation_to_euler(rot)


def expression_offsets(landmarks: np.ndarray, rot: np.ndarray, trans: np.ndarray,
                       image_size: Sequence[int], template: Optional[np.ndarray] = None,
                       points: Sequence[int] = EXPRESSION_POINTS) -> np.ndarray:
    """Pose-normalised expression: where the landmarks are relative to the posed template.

    The offsets ``landmarks - project(template)`` of the expression points, in the
    face's own 2D frame (rotated so the projected template's eye axis is
    horizontal) and in units of its projected inter-ocular distance. The head
    pose, position and size are thereby removed; what remains is the
    expression (and the face's own shape, which a template cannot separate).

    Returns:
        ``(len(points), 2)`` offsets.
    """
    template = IBUG68_FACE_TEMPLATE if template is None else np.asarray(template, np.float64)
    cam = camera_matrix(int(image_size[0]), int(image_size[1]))
    proj = project_points(template, rot, trans, cam)
    axis = proj[45] - proj[36]
    iod = max(float(np.linalg.norm(axis)), 1e-6)
    c, s = axis / iod
    unrotate = np.array([[c, s], [-s, c]])
    idx = list(points)
    offsets = np.asarray(landmarks, np.float64)[idx] - proj[idx]
    return offsets @ unrotate.T / iod


def frontal_template(points: np.ndarray) -> np.ndarray:
    """A symmetric, frontal, unit-inter-ocular 3D template from one face's 3D landmarks.

    ``points`` ``(68, 3)`` (camera frame, any pose) are rotated into the face's
    frame: x from the image-left to the image-right points (mean over the
    mirror pairs), y from the eyes' to the mouth's midpoint (made orthogonal to
    x), z = x × y (away from the camera). They are then averaged with their
    mirror image, centred on the rigid points and scaled to an inter-ocular
    distance of 1. Used by ``tools/misc/make_face_template.py``.
    """
    pts = np.asarray(points, np.float64)
    flip = ibug68_flip_index()
    pairs = [(i, int(flip[i])) for i in range(68) if flip[i] != i]
    # image-left side: the index is the lower one of its pair in the jaw/brows/eyes order
    x = np.mean([pts[j] - pts[i] for i, j in pairs if i < j and pts[j, 0] > pts[i, 0]] +
                [pts[i] - pts[j] for i, j in pairs if i < j and pts[j, 0] <= pts[i, 0]], 0)
    x /= np.linalg.norm(x)
    eyes = pts[36:48].mean(0)
    mouth = pts[48:68].mean(0)
    y = mouth - eyes
    y -= x * (y @ x)
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    local = (pts - pts.mean(0)) @ np.stack([x, y, z], 1)
    mirrored = local[flip] * np.array([-1.0, 1.0, 1.0])
    sym = (local + mirrored) / 2
    sym -= sym[list(RIGID_POINTS)].mean(0)
    return sym / np.linalg.norm(sym[45] - sym[36])
