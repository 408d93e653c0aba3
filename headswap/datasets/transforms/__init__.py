from .face_color_jitter import FaceColorJitter
from .face_flip import FaceFlip
from .load_head2head_frames import LoadHead2HeadFrames
from .load_head2scene_frames import LoadHead2SceneFrames
from .pack_head2head_inputs import PackHead2HeadInputs
from .pack_head2scene_inputs import PackHead2SceneInputs
from .resize_frames import ResizeFrames

__all__ = [
    'FaceColorJitter', 'FaceFlip', 'LoadHead2HeadFrames', 'LoadHead2SceneFrames',
    'PackHead2HeadInputs', 'PackHead2SceneInputs', 'ResizeFrames'
]
