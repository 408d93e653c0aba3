from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from headswap.registry import MODELS
from headswap.utils.openmmlab_scope import load_openmmlab_config, resolve_device
from headswap.utils.pretrained import load_pretrained
from .base_face_analysis import BaseFaceLandmarker

__all__ = ['MMPoseFaceLandmarker', 'RTMPOSE_FACE68_CONFIG', 'RTMPOSE_FACE68_CHECKPOINT']

RTMPOSE_FACE68_CONFIG = ('mmpose::face_2d_keypoint/rtmpose/coco_wholebody_face/'
                         'rtmpose-m_8xb32-60e_coco-wholebody-face-256x256.py')
RTMPOSE_FACE68_CHECKPOINT = (
    'https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/'
    'rtmpose-m_simcc-coco-wholebody-face_pt-aic-coco_60e-256x256-62026ef2_20230228.pth')


@MODELS.register_module()
class MMPoseFaceLandmarker(BaseFaceLandmarker):
    """A 68-point top-down face-landmark model of mmpose, batched over frames.

    The default is RTMPose-m trained on COCO-WholeBody-Face (68 points in the
    iBUG order, Apache-2.0); HRNetV2 on 300W works too. Download the
    checkpoint (:data:`RTMPOSE_FACE68_CHECKPOINT`) and give its path; it is
    loaded with :func:`headswap.utils.checkpoint.load_weights` (no pickled
    code). ``checkpoint=None`` runs with random weights (tests only; warned).

    Args:
        config: mmpose config path or ``'mmpose::<path in mmpose's configs>'``.
        checkpoint: Weights path/URL, or None.
        device: ``'auto'`` (CUDA when available), ``'cpu'``, ``'cuda:0'``...
    """

    def __init__(self, config: str = RTMPOSE_FACE68_CONFIG, checkpoint: Optional[str] = None,
                 device: str = 'auto'):
        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope
        cfg = load_openmmlab_config(config, 'mmpose')
        cfg.model.backbone.init_cfg = None
        self.device = resolve_device(device)
        with DefaultScope.overwrite_default_scope('mmpose'):
            from mmpose.apis import init_model
            model = init_model(cfg, checkpoint=None, device='cpu')
            self.pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
        num = model.dataset_meta.get('num_keypoints')
        if num != 68:
            raise ValueError(f'{config}: predicts {num} keypoints; MMPoseFaceLandmarker needs a '
                             '68-point (iBUG order) model, e.g. COCO-WholeBody-Face or 300W')
        load_pretrained(model, checkpoint, 'mmpose face landmarker')
        self.model = model.to(self.device).eval()

    @torch.no_grad()
    def predict(self, images: Sequence[np.ndarray], boxes: np.ndarray,
                keypoints: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        from mmengine.dataset import pseudo_collate
        from mmengine.registry import DefaultScope
        if len(images) == 0:
            return np.zeros((0, 68, 2), np.float32), np.zeros((0,), np.float32)
        with DefaultScope.overwrite_default_scope('mmpose'):
            data = []
            for img, box in zip(images, boxes):
                info = dict(img=np.ascontiguousarray(img[..., ::-1]),  # mmpose expects BGR
                            bbox=np.asarray(box, np.float32)[None],
                            bbox_score=np.ones(1, np.float32))
                info.update(self.model.dataset_meta)
                data.append(self.pipeline(info))
            results = self.model.test_step(pseudo_collate(data))
        pts = np.stack([r.pred_instances.keypoints[0] for r in results]).astype(np.float32)
        scores = np.stack([np.asarray(r.pred_instances.keypoint_scores[0]).mean()
                           for r in results])
        return pts, np.clip(scores, 0, 1).astype(np.float32)
