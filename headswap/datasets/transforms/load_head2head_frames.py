from mmcv.transforms import BaseTransform

from headswap.registry import TRANSFORMS
from .frame_io import landmark_fields, read_labels, read_rgb, stacked_landmark_fields

__all__ = ['LoadHead2HeadFrames']


@TRANSFORMS.register_module()
class LoadHead2HeadFrames(BaseTransform):
    """Read the target and the K source frames of a :class:`Head2HeadDataset` sample.

    Adds (numpy, RGB uint8 ``(H, W, 3)`` images, ``(H, W)`` uint8 labels,
    ``(68, 2)`` float32 landmarks): ``source_imgs`` (list of K),
    ``source_landmarks`` ``(K, 68, 2)``, ``driver_img`` and ``gt_img`` (the
    target, separate copies), ``gt_landmarks``, ``gt_parsing`` (with
    ``with_parsing``) and ``source_parsings`` (list, with ``with_source_parsing``).
    Where the index has the landmarker's reading of the mirrored frames
    (``landmarks_mirrored``), also ``gt_landmarks_mirrored`` / ``source_landmarks_mirrored``:
    what :class:`FaceFlip` gives a flipped sample.
    """

    def __init__(self, with_parsing: bool = True, with_source_parsing: bool = False):
        self.with_parsing = with_parsing
        self.with_source_parsing = with_source_parsing

    def transform(self, results: dict) -> dict:
        target = read_rgb(results['img_path'])
        results['gt_img'] = target
        results['driver_img'] = target.copy()
        results['img_shape'] = target.shape[:2]
        results.update(landmark_fields(results, 'gt'))
        if self.with_parsing:
            results['gt_parsing'] = read_labels(results['parsing_path'])
        sources = results['sources']
        results['source_imgs'] = [read_rgb(s['img_path']) for s in sources]
        results.update(stacked_landmark_fields(sources, 'source'))
        if self.with_source_parsing:
            results['source_parsings'] = [read_labels(s['parsing_path']) for s in sources]
        return results
