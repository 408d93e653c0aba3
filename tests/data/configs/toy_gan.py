# A toy GAN for the tool tests (tests/toy_modules.py), on the real runtime base.
_base_ = ['../../../configs/_base_/default_runtime.py']

custom_imports = dict(imports=['tests.toy_modules'], allow_failed_imports=False)

model = dict(type='ToyGAN', width=8, data_preprocessor=dict(type='BaseDataPreprocessor'))

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    dataset=dict(type='ToyImageDataset', num=16))
test_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ToyImageDataset', num=4))
test_evaluator = dict(type='ToyL1Metric')
test_cfg = dict(type='TestLoop')

train_cfg = dict(type='ResumableIterBasedTrainLoop', max_iters=8, val_interval=1000)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999))),
    discriminator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-3, betas=(0.9, 0.999))))

default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=4, max_keep_ckpts=2),
    visualization=dict(interval=4, keys=('gt_img', 'pred_img')))
