"""Make the 3D face template that the pose / expression metrics solve PnP against.

    python tools/misc/make_face_template.py [--image IMG] [--out FILE.py]

The template is MediaPipe's face-mesh model (``face_landmark.tflite``, Apache-2.0,
shipped in the ``mediapipe`` 0.10.21 wheel) run on the bundled public-domain
astronaut photo (``data/sample/frames/astronaut/photos/00000/000000.jpg``,
scikit-image's ``astronaut``, NASA): its 3D points (x, y and the model's relative
depth) at the 68 iBUG vertices (:data:`MEDIAPIPE_TO_IBUG68`), rotated into the
face's frame, made mirror-symmetric and scaled to an inter-ocular distance of 1
(:func:`headswap.evaluation.functional.head_pose.frontal_template`).

Why not MediaPipe's ``canonical_face_model.obj``: the mediapipe wheel does not
ship it (only the repository does), and nothing may be downloaded.

Without ``--out`` the Python source is printed; with it, written to that file
(the packaged one is ``headswap/evaluation/functional/face_template.py``).
"""
import argparse
import os.path as osp
import sys

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_IMAGE = osp.join(ROOT, 'data/sample/frames/astronaut/photos/00000/000000.jpg')

HEADER = '''"""The 3D face template of the head-pose metrics: 68 iBUG points, unit inter-ocular
distance.

Made by ``tools/misc/make_face_template.py`` (read it for how): MediaPipe's face mesh
(Apache-2.0) on the public-domain astronaut photo of the bundled sample, frontalised
and made symmetric. Frame: x to the image's right, y down, z away from the camera.
"""
import numpy as np

__all__ = ['IBUG68_FACE_TEMPLATE']

'''


def make_template(image_path: str) -> np.ndarray:
    """The ``(68, 3)`` template from the aligned crop at ``image_path``."""
    import cv2

    from headswap.evaluation.functional.head_pose import frontal_template
    from headswap.models.frozen.mediapipe_face_mesh_landmarker import (MEDIAPIPE_TO_IBUG68,
                                                                       MediaPipeFaceMeshLandmarker)
    from headswap.utils.cli import UserError
    img = cv2.imread(image_path, cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f'{image_path}: cannot read the image')
    img = np.ascontiguousarray(img[..., ::-1])
    h, w = img.shape[:2]
    # an aligned headswap crop (crop_scale 2): the face is the centred half-size square
    box = np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]], np.float32)
    mesh, scores = MediaPipeFaceMeshLandmarker().predict_mesh([img], box)
    if scores[0] < 0.5:
        raise UserError(f'{image_path}: the face mesh found no face (score {scores[0]:.2f})')
    return frontal_template(mesh[0, MEDIAPIPE_TO_IBUG68])


def template_source(template: np.ndarray) -> str:
    t = np.round(template, 4) + 0.0  # no '-0.0000'
    rows = ',\n'.join(f'    ({x:.4f}, {y:.4f}, {z:.4f})' for x, y, z in t)
    return HEADER + f'IBUG68_FACE_TEMPLATE = np.array([\n{rows},\n], np.float64)\n'


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--image', default=DEFAULT_IMAGE, help='an aligned headswap crop')
    parser.add_argument('--out', help='write the Python module here (default: print)')
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from headswap.utils.cli import friendly_errors
    with friendly_errors('make_face_template.py'):
        source = template_source(make_template(args.image))
        if args.out:
            with open(args.out, 'w') as f:
                f.write(source)
        else:
            print(source, end='')


if __name__ == '__main__':
    main()
