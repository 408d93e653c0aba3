from .blending_masks import BlendingMasks
from .head2scene_blender import Head2SceneBlender

__all__ = ['BlendingMasks', 'Head2SceneBlender']
