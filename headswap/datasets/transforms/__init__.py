from .face_color_jitter import FaceColorJitter
from .face_flip import FaceFlip
from .head_color_shift import ShiftHeadColor
from .head_mask_perturbation import PerturbHeadMask
from .head_over_scene import ComposeHeadOverScene
from .load_head2head_frames import LoadHead2HeadFrames
from .load_head2scene_frames import LoadHead2SceneFrames
from .pack_head2head_inputs import PackHead2HeadInputs
from .pack_head2scene_inputs import PackHead2SceneInputs
from .pack_head_swap_inputs import PackHeadSwapInputs
from .resize_frames import ResizeFrames

__all__ = [
    'ComposeHeadOverScene', 'FaceColorJitter', 'FaceFlip', 'LoadHead2HeadFrames',
    'LoadHead2SceneFrames', 'PackHead2HeadInputs', 'PackHead2SceneInputs', 'PackHeadSwapInputs',
    'PerturbHeadMask', 'ResizeFrames', 'ShiftHeadColor'
]
