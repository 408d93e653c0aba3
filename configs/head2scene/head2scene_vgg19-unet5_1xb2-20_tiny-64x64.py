# A tiny stage-2 setting that trains on a CPU in seconds: 64x64 images, 4-16 channel networks,
# random-weight VGG-19 (results are not meaningful; for smoke tests and debugging).
_base_ = ['./head2scene_vgg19-unet7_2xb4-200k_voxceleb2-512x512.py']

model = dict(
    vgg=dict(checkpoint=None, base_channels=4),
    warping=dict(proj_channels=16, backend='blocked'),
    unet=dict(base_channels=4, max_channels=16, num_levels=5),
    discriminator=dict(base_channels=4, max_channels=16, num_layers=3, num_scales=2))

tiny_pipeline = [
    dict(type='LoadHead2SceneFrames'),
    dict(type='ResizeFrames', size=64),
    dict(type='PerturbHeadMask', head_labels={{_base_.synthesis_head_labels}}, max_grow=0.08),
    dict(type='ShiftHeadColor', head_labels={{_base_.synthesis_head_labels}}),
    dict(type='PackHead2SceneInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=tiny_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=tiny_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=20, val_interval=1000)
# tiny networks learn in minutes only at 10x the paper's rates (as the tiny stage-1 config):
# learning_check.py --stages 2 --budget 200 on a CPU, 140 steps: held-out 21.1 dB vs 16.3 dB
# at 1e-4 (the unblended paste: 20.7 dB)
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=1e-3)), discriminator=dict(optimizer=dict(lr=4e-3)))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=10, max_keep_ckpts=2),
    visualization=dict(interval=10, tile=64))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))

# metrics with a random LPIPS backbone (results only mean something relative to each other)
val_evaluator = [
    dict(type='PSNR', regions={{_base_.blend_regions}}),
    dict(type='SSIM'),
    dict(type='LPIPS', backbone_checkpoint=None, regions={{_base_.blend_regions}}),
]
test_evaluator = val_evaluator
