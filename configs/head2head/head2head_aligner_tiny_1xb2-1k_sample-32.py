# Tiny stage-1 model for CPU smoke runs and tests: 32x32 frames (resized from the bundled
# 512x512 sample), widths 4-16, K in {1, 2}, random weights for the frozen networks.
#   python tools/train.py configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py
_base_ = ['head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py']

# GroupNorm in the trainable encoders, as the one-GPU 512 config (BatchNorm over 2 samples
# of 1x1 maps keeps little of what tells drivers apart: docs/en/stage1_learning.md)
tiny_norm = dict(type='GN')
model = dict(
    portrait_encoder=dict(
        out_channels=16, depths=(1, 1, 1, 1), stem_channels=8, base_channels=4, groups=2,
        width_per_group=32, input_size=None, norm_cfg=tiny_norm),
    identity_encoder=dict(
        depths=(1, 1, 1, 1), base_channels=4, embedding_dim=16, input_size=32, checkpoint=None),
    pose_encoder=dict(
        out_channels=8, width_mult=0.25, settings=((1, 8, 1, 1), (6, 8, 1, 2), (6, 16, 1, 2)),
        last_channels=32, input_size=None, norm_cfg=tiny_norm),
    expression_encoder=dict(
        out_channels=8, width_mult=0.25, settings=((1, 8, 1, 1), (6, 8, 1, 2), (6, 16, 1, 2)),
        last_channels=32, input_size=None, norm_cfg=tiny_norm),
    mlp=dict(hidden_channels=32),
    generator=dict(channels=(16, 16, 8, 8), num_res_blocks=1, out_resolution=32),
    discriminator=dict(base_channels=8, max_channels=16, num_layers=2),
    vgg=dict(layers=('relu1_1', 'relu2_1', 'relu3_1'), base_channels=4, checkpoint=None),
    losses=dict(vgg=dict(layer_weights=(1.0, 1.0, 1.0))),
    ema=dict(momentum=0.01))

tiny_pipeline = [
    dict(type='LoadHead2HeadFrames', with_parsing=True),
    dict(type='ResizeFrames', size=32),
    dict(type='PackHead2HeadInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(num_sources=[1, 2], pipeline=tiny_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(num_sources=2, pipeline=tiny_pipeline))
test_dataloader = val_dataloader
sync_bn = None

train_cfg = dict(max_iters=1000, val_interval=500)
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=1e-3)), discriminator=dict(optimizer=dict(lr=4e-3)))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=500),
    visualization=dict(interval=200, tile=64))
env_cfg = dict(cudnn_benchmark=False)

# metrics with tiny random networks (results only mean something relative to each other)
tiny_eval_arcface = dict(
    type='ArcFaceIdentityEncoder', depths=(1, 1, 1, 1), base_channels=4, embedding_dim=16,
    input_size=32, checkpoint=None)
val_evaluator = [
    dict(type='IdentitySimilarity', identity_encoder=tiny_eval_arcface),
    dict(type='PoseExpressionError', landmarker=dict(type='MediaPipeFaceMeshLandmarker')),
    dict(type='PSNR'),
    dict(type='SSIM'),
    dict(type='LPIPS', backbone_checkpoint=None),
]
test_evaluator = val_evaluator
