# Stage 2 (Head2Scene Blender) data: a target frame I_T, another frame I_T' of its video, and
# their parsing maps. The stage-2 config inserts its synthesis transform (which makes the
# animated head I_A = head_img / head_parsing from the target) before PackHead2SceneInputs
# and packs with strict=True.
dataset_type = 'Head2SceneDataset'
data_root = 'data/sample'

train_pipeline = [
    dict(type='LoadHead2SceneFrames'),
    dict(type='FaceFlip', prob=0.5),
    dict(type='PackHead2SceneInputs', strict=False),
]
test_pipeline = [
    dict(type='LoadHead2SceneFrames'),
    dict(type='PackHead2SceneInputs', strict=False),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='index.json',
        other_scope='video',
        min_frame_gap=5,
        # the sample's astronaut photo is a single frame
        on_small_pool='skip',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='index.json',
        other_scope='video',
        min_frame_gap=5,
        on_small_pool='skip',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
