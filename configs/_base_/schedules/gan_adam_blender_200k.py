# Head2Scene Blender schedule: Adam (0.9, 0.999), lr 1e-4 for the generator side (warping
# projections + blending UNet) and 4e-4 for D_B (supplement section 3.2); 200k iterations
# (the paper reports 5 days on two RTX 8000, not an iteration count).
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)),
        modules=['warping', 'unet']),
    discriminator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.999)),
        modules=['discriminator']))

train_cfg = dict(type='ResumableIterBasedTrainLoop', max_iters=200000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
