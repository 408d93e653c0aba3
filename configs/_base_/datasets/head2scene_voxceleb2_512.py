# Stage-2 data: a target frame I_T and another frame I_T' of the same video, with parsing maps
# (docs/en/data_format.md). I_A is synthesised from I_T (SPEC section 3): T's head region is
# grown at random (PerturbHeadMask) and A's head colours are shifted (ShiftHeadColor).
dataset_type = 'Head2SceneDataset'
data_root = 'data/sample'
# must equal model.masks.head_labels (configs/_base_/models/head2scene_blender.py)
synthesis_head_labels = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18]

train_pipeline = [
    dict(type='LoadHead2SceneFrames'),
    dict(type='PerturbHeadMask', head_labels=synthesis_head_labels, max_grow=0.08),
    dict(type='ShiftHeadColor', head_labels=synthesis_head_labels),
    dict(type='PackHead2SceneInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file='index.json',
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file='index.json', test_mode=True,
        pipeline=test_pipeline))
# self-reconstruction metrics of headswap.evaluation (SPEC section 5)
test_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
