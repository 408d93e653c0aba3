from .head_over_scene import compose_head_over_scene, nearest_seed_index
from .head_swapper import HeadSwapper
from .stage_checkpoints import (checkpoint_stage, load_inference_state, load_stage_checkpoint,
                                quiet_random_weight_warnings)

__all__ = ['HeadSwapper', 'checkpoint_stage', 'load_inference_state', 'load_stage_checkpoint',
           'quiet_random_weight_warnings', 'compose_head_over_scene', 'nearest_seed_index']
