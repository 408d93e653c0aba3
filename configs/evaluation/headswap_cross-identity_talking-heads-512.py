# The full swap (HeadSwapper: stage 1 + stage 2), cross-identity: K frames of person S put
# into the frames of another person's clip (T). No ground truth.
# Metrics: CSIM to the sources, ID retrieval, pose / expression error and AKD to T, FID.
# The stage weights are the model's aligner_checkpoint / blender_checkpoint below, so
# tools/test.py takes no CHECKPOINT:
#   python tools/test.py configs/evaluation/headswap_cross-identity_talking-heads-512.py \
#       --out work_dirs/eval/swap_cross.json \
#       --cfg-options model.aligner_checkpoint=A.pth model.blender_checkpoint=B.pth \
#       test_dataloader.dataset.data_root=data/voxceleb2_test
_base_ = ['../_base_/default_runtime.py', '../_base_/evaluation/head_swap_metrics.py']

model = dict(
    type='HeadSwapper',
    aligner='configs/head2head_aligner.py',
    blender='configs/head2scene_blender.py',
    aligner_checkpoint='checkpoints/head2head_aligner.pth',
    blender_checkpoint='checkpoints/head2scene_blender.pth',
    resolution=512,
    use_ema=True,
    # no face parser at test time: A's head labels from the stage-1 mask
    head_parsing='mask',
    hair_color='target')

eval_pipeline = [
    # the driver frame of the split is the target T (its parsing is the scene's layout)
    dict(type='LoadHead2HeadFrames', with_parsing=True),
    dict(type='PackHeadSwapInputs', meta_keys=('source_identity', 'pair_index', 'protocol')),
]
test_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='TalkingHeadSplitDataset',
        data_root='data/sample',
        ann_file='index.json',
        split_file='splits/cross_identity.json',  # relative to data_root
        num_sources=1,  # K
        test_mode=True,
        pipeline=eval_pipeline))
test_evaluator = {{_base_.swap_cross_identity_metrics}}
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    visualization=dict(
        type='ImageGridHook', interval=1000,
        keys=('source_imgs', 'target_img', 'head_img', 'pred_img')))
