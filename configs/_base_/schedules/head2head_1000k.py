# Stage-1 optimisation (supplement sec. 3.2): Adam (0.9, 0.999), 1e-4 for the generator side
# (encoders + MLP + generator), 4e-4 for D_A, constant rates; one D and one G update per
# iteration. The supplement gives ~3 weeks on 6 V100s, not an iteration count: 1M is ours.
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)),
        modules=['portrait_encoder', 'pose_encoder', 'expression_encoder', 'mlp', 'generator']),
    discriminator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.999))))

train_cfg = dict(type='ResumableIterBasedTrainLoop', max_iters=1_000_000, val_interval=10_000)
param_scheduler = []
