from .head_over_scene import compose_head_over_scene, nearest_seed_index
from .head_swapper import HeadSwapper, checkpoint_stage, load_inference_state

__all__ = ['HeadSwapper', 'checkpoint_stage', 'load_inference_state', 'compose_head_over_scene',
           'nearest_seed_index']
