from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from .frame_io import landmark_fields, read_labels, read_rgb

__all__ = ['LoadHead2SceneFrames']


@TRANSFORMS.register_module()
class LoadHead2SceneFrames(BaseTransform):
    """Read the target frame I_T and the other frame I_T' of a :class:`Head2SceneDataset` sample.

    Adds ``target_img``, ``target_parsing``, ``target_landmarks``,
    ``other_img``, ``other_parsing``, ``other_landmarks`` (numpy: RGB uint8
    ``(H, W, 3)``, uint8 ``(H, W)`` labels, float32 ``(68, 2)``), and
    ``target_landmarks_mirrored`` / ``other_landmarks_mirrored`` where the index has the
    landmarker's reading of the mirrored frames (what :class:`FaceFlip` gives a flipped
    sample).
    """

    def transform(self, results: dict) -> dict:
        other = results['other']
        results['target_img'] = read_rgb(results['img_path'])
        results['target_parsing'] = read_labels(results['parsing_path'])
        results['other_img'] = read_rgb(other['img_path'])
        results['other_parsing'] = read_labels(other['parsing_path'])
        results['img_shape'] = results['target_img'].shape[:2]
        results.update(landmark_fields(results, 'target'))
        results.update(landmark_fields(other, 'other'))
        return results
