# A full-swap test config for tools/test.py on the bundled sample: the tiny HeadSwapper on
# same-identity swaps (sources and target from one clip, T = ground truth), 64x64 crops.
_base_ = ['../../../configs/_base_/default_runtime.py']

model = dict(
    type='HeadSwapper',
    aligner='configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py',
    blender='configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py',
    resolution=64,
    head_parsing='mask')

test_pipeline = [
    dict(type='LoadHead2HeadFrames', with_parsing=True),
    dict(type='ResizeFrames', size=64),
    dict(type='PackHeadSwapInputs'),
]
test_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='Head2HeadDataset', data_root='data/sample', ann_file='index.json',
        num_sources=2, source_scope='clip', on_small_pool='skip', test_mode=True,
        pipeline=test_pipeline))
test_evaluator = []
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    visualization=dict(keys=('source_imgs', 'target_img', 'head_img', 'pred_img', 'gt_img')))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
