from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from headswap.registry import METRICS, MODELS
from ..functional import (check_same_size, expression_offsets, inter_ocular_distance, sample_image,
                          solve_head_pose)

__all__ = ['PoseExpressionError']


def _wrap(deg: np.ndarray) -> np.ndarray:
    return (deg + 180.0) % 360.0 - 180.0


@METRICS.register_module()
class PoseExpressionError(BaseMetric):
    """Pose and expression transfer: the output against its driver, from 68 face landmarks.

    Both images go through the same landmarker (offline
    :class:`MediaPipeFaceMeshLandmarker` by default, or an mmpose model with your
    weights), with the face box fixed by the crop alignment (the centred square
    of side ``1 / crop_scale``, where the data tools put ArcFace's face window),
    so no detector can miss a face. Per sample:

    * head pose (yaw, pitch, roll) of each by PnP against the 3D template of
      :mod:`headswap.evaluation.functional.head_pose` (rigid points only);
      ``pose_error`` is the mean absolute angle difference over the three axes,
      also reported per axis (``yaw_error``, ``pitch_error``, ``roll_error``), in degrees;
    * ``expression_error``: mean distance between the pose-normalised positions
      of brows, eyes and mouth (:func:`expression_offsets`: offsets from the
      posed template, in the face's frame, in inter-ocular distances);
    * ``AKD``: average distance of all 68 landmarks, divided by the driver's
      inter-ocular (outer eye corner) distance.

    Identical images give 0 for all. A sample whose landmark score (either
    image) is below ``min_score`` is left out; ``landmarks_kept`` then reports
    the kept fraction.

    Args:
        landmarker: Landmarker config (``MODELS``; a :class:`BaseFaceLandmarker`).
        pred_key, driver_key: Data-sample fields (uint8 ``(3, H, W)``).
        crop_scale: The data's ``crop_scale`` (``index.json`` metainfo).
        crop_center: Centre of the face window (fractions of the side).
        min_score: Smallest landmark score that counts.
        collect_device, prefix: See :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = ''  # plain metric names

    def __init__(self, landmarker: dict = dict(type='MediaPipeFaceMeshLandmarker'),
                 pred_key: str = 'pred_img', driver_key: str = 'driver_img',
                 crop_scale: float = 2.0, crop_center: Sequence[float] = (0.5, 0.5),
                 min_score: float = 0.0, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.landmarker = landmarker if not isinstance(landmarker, dict) else MODELS.build(
            landmarker)
        self.pred_key, self.driver_key = pred_key, driver_key
        if crop_scale < 1:
            raise ValueError(f'PoseExpressionError: crop_scale must be >= 1, got {crop_scale}')
        self.crop_scale, self.crop_center = float(crop_scale), tuple(crop_center)
        self.min_score = float(min_score)

    def _box(self, height: int, width: int) -> np.ndarray:
        half = 0.5 / self.crop_scale
        cx, cy = self.crop_center
        return np.array([(cx - half) * width, (cy - half) * height, (cx + half) * width,
                         (cy + half) * height], np.float32)

    def landmarks(self, images: List[torch.Tensor]) -> Tuple[np.ndarray, np.ndarray]:
        """uint8 ``(3, H, W)`` images -> ``(N, 68, 2)`` landmarks and ``(N,)`` scores."""
        arrays = [np.ascontiguousarray(x.permute(1, 2, 0).numpy()) for x in images]
        boxes = np.stack([self._box(*a.shape[:2]) for a in arrays])
        return self.landmarker.predict(arrays, boxes)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        preds, drivers = [], []
        for sample in data_samples:
            pred = sample_image(sample, self.pred_key, 'PoseExpressionError')
            driver = sample_image(sample, self.driver_key, 'PoseExpressionError')
            check_same_size(pred, driver, f'PoseExpressionError ({self.pred_key} vs '
                                          f'{self.driver_key})')
            preds.append(pred)
            drivers.append(driver)
        if not preds:
            return
        points, scores = self.landmarks(preds + drivers)
        n = len(preds)
        for i in range(n):
            size = (preds[i].shape[-1], preds[i].shape[-2])
            self.results.append(self.compare(points[i], points[n + i], size,
                                             min(scores[i], scores[n + i])))

    def compare(self, pred: np.ndarray, driver: np.ndarray, size: Tuple[int, int],
                score: float = 1.0) -> dict:
        """Errors of one pair of ``(68, 2)`` landmark sets in an image of ``size`` (w, h)."""
        rot_p, t_p, euler_p = solve_head_pose(pred, size)
        rot_d, t_d, euler_d = solve_head_pose(driver, size)
        angle = np.abs(_wrap(euler_p - euler_d))
        expr = np.linalg.norm(expression_offsets(pred, rot_p, t_p, size) -
                              expression_offsets(driver, rot_d, t_d, size), axis=1).mean()
        iod = max(float(inter_ocular_distance(driver)), 1e-6)
        akd = float(np.linalg.norm(pred - driver, axis=1).mean() / iod)
        return dict(yaw=float(angle[0]), pitch=float(angle[1]), roll=float(angle[2]),
                    expression=float(expr), akd=akd, score=float(score))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        kept = [r for r in results if r['score'] >= self.min_score]
        if not kept:
            print_log(f'PoseExpressionError: no sample has landmark scores >= {self.min_score}'
                      '; nothing to report', logger='current', level=30)
            return dict(landmarks_kept=0.0)

        def mean(key: str) -> float:
            return float(np.mean([r[key] for r in kept]))

        out = dict(pose_error=float(np.mean([(r['yaw'] + r['pitch'] + r['roll']) / 3
                                             for r in kept])),
                   yaw_error=mean('yaw'), pitch_error=mean('pitch'), roll_error=mean('roll'),
                   expression_error=mean('expression'), AKD=mean('akd'))
        if self.min_score > 0:
            out['landmarks_kept'] = len(kept) / len(results)
        return out
