# Runtime settings shared by every headswap config.
default_scope = 'headswap'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keep the last N checkpoints; set `save_best='<metric>'` and `rule` in a
    # config with a validation loop to also keep the best one
    checkpoint=dict(
        type='CheckpointHook',
        interval=5000,
        by_epoch=False,
        max_keep_ckpts=3,
        save_last=True,
        save_best=None,
        rule=None),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # image grids of inputs/outputs, in TensorBoard and under vis_data/
    visualization=dict(type='ImageGridHook', interval=1000),
)
# random generators are saved in checkpoints and restored on resume
custom_hooks = [dict(type='RNGStateHook')]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='HeadSwapVisualizer', vis_backends=vis_backends, name='visualizer')

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
log_level = 'INFO'

# GAN models: one DDP wrapper per trainable submodule; frozen networks unwrapped.
# (The Runner looks model wrappers up in mmengine's root registry: keep the scope.)
model_wrapper_cfg = dict(
    type='headswap.SeparateDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=False)

# amp = True: mixed precision (bf16 autocast; fp16 + loss scaling on GPUs without bf16)
# whenever a config trains on a GPU; `tools/train.py --amp` turns it on for any config,
# on a CPU too (headswap.utils.config.apply_precision)
amp = False

randomness = dict(seed=2022, diff_rank_seed=True, deterministic=False)

load_from = None
resume = False
