# HeSer stage 1 on ONE GPU, one sample per step: the paper's model with GroupNorm in the
# trainable encoders, a standardised MLP input, colour-only driver augmentation and an
# adversarial warm-up (our design decisions, docs/en/stage1_learning.md). At 512 this latent-
# only model still learns to follow its drivers too slowly to be seen in minutes; the
# *_lpd-gn-lmk-* config adds a spatial driver path (landmarks) that does.
#
# Why: with one sample per GPU and no SyncBN across GPUs, BatchNorm normalises each channel
# over the positions of a single image, and the encoders' global pooling then sees channels
# whose mean is always zero: the pose and expression embeddings of two drivers hardly differ
# (about a third of what GroupNorm keeps, tests/test_models/test_layers/test_norm.py), so the
# generator draws one mean face whatever the driver, and evaluation (running statistics)
# computes another function than training did. GroupNorm keeps what tells two drivers apart
# at any batch size and is the same function in training and evaluation.
#
#   python tools/train.py configs/head2head/head2head_aligner_lpd-gn-arcface-r100_1xb1-200k_talking-heads-512.py
#
# On a GPU it trains in bf16 (`amp = True`) with CUDA graphs; `--cfg-options amp=False
# model.cuda_graphs=False` gives the strict fp32, eager step of the paper config.
#
# The paper's exact setting (BatchNorm + SyncBN over 6 GPUs) stays in
# head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py.
_base_ = ['head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py']

encoder_norm = dict(type='GN')
model = dict(
    portrait_encoder=dict(norm_cfg=encoder_norm),
    pose_encoder=dict(norm_cfg=encoder_norm),
    expression_encoder=dict(norm_cfg=encoder_norm),
    # the joint embedding standardised by running statistics before the MLP: what tells two
    # drivers apart is a few percent of the embeddings' norm, and without this the gradient
    # reaching the pose/expression encoders is ~18x smaller and the outputs ignore the driver
    # (measured at 512 on one H100, docs/en/stage1_learning.md)
    mlp=dict(input_norm=True),
    # colour jitter only on the driver: a rotation / zoom / shift of the driver alone (the
    # target stays put) teaches the pose encoder to ignore small head motions, which are
    # what tells one frame of a clip from the next (32 px held-out proxy, two seeds: 20.4 vs
    # 19.1-19.2 dB at 600 steps, 4-5 vs 2 of 10 outputs nearest their own target; at 512
    # not enough on its own, and identity leakage across people not measured:
    # docs/en/stage1_learning.md)
    driver_augmentation=dict(rotation=0.0, scale=(1.0, 1.0), translation=0.0),
    # reconstruction and perceptual terms alone for the first 2000 iterations: the
    # adversarial terms otherwise pull an early generator, which cannot yet tell drivers
    # apart, onto one sharp face (D_A trains from the start)
    gan_warmup=2000,
    # ... then brought in over 1000 iterations instead of at full weight at once: switched on
    # in one step at 512, the generator's gradient norm rose 3.5x and its L1 went from 0.75
    # to 1.35 within 50 steps (D_A's logits collapsed from +1.9 / -2.0 to +0.3 / +0.2) and
    # was still at 0.92 150 steps later (landmark config, one H100, 2026-12-07:
    # docs/en/stage1_learning.md). Whether the ramp scores better at 512 is not measured yet
    gan_rampup=1000,
    # the average follows the weights closely early on (momentum max(0.001, 20 / (20 + n))),
    # so that an early checkpoint evaluated through its EMA is not mostly its random start
    ema=dict(momentum=0.001, interval=1, gamma=20),
    # one GPU at batch 1 is bound by kernel launches: replay the passes as CUDA graphs
    # (ignored with a warning on a CPU)
    cuda_graphs=True)
sync_bn = None  # no BatchNorm left in the trainable parts
# bf16 autocast on a GPU (benchmark_aligner.py: the loss curves of bf16 and strict fp32
# agree; with CUDA graphs 2.7-3.7x the fp32 eager step); `--cfg-options amp=False` for fp32
amp = True
# tools/dist_train.sh CONFIG N: CUDA graphs cannot record DDP's all-reduce hooks, so no part
# is wrapped in DDP and the gradients are all-reduced after each backward instead
model_wrapper_cfg = dict(type='headswap.GradientSyncDataParallel')

# no GPU->host wait inside an iteration: fused Adam skips a non-finite step on the device
# (the host check waits for the GPU twice per iteration), the logged values are read every
# logger interval instead of after every iteration, and the non-finite-loss check with them;
# the host then prepares the next iteration while the GPU runs this one
# (tools/analysis_tools/benchmark_train_loop.py measures both paths)
optim_wrapper = dict(generator=dict(optimizer=dict(fused=True)),
                     discriminator=dict(optimizer=dict(fused=True)))
train_dataloader = dict(batch_size=1)
train_cfg = dict(max_iters=200_000)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=5000),
                     runtime_info=dict(type='DeferredRuntimeInfoHook'))
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='NonFiniteLossHook', interval=50),
    # a warning when outputs stop following their drivers (one face for every input)
    dict(type='DriverSensitivityHook', threshold=0.1, start_iter=2000, interval=1000),
]
