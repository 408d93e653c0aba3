# Stage 1 (Head2Head Aligner) data: a target frame and K source frames of the same identity.
# Prepared with tools/dataset_converters/prepare_talking_heads.py (docs/en/data_preparation.md).
# K: an int, or a list of choices drawn per batch by KShotBatchSampler (uniform within a batch).
dataset_type = 'Head2HeadDataset'
data_root = 'data/sample'

train_pipeline = [
    dict(type='LoadHead2HeadFrames', with_parsing=True),
    dict(type='FaceFlip', prob=0.5),
    dict(type='FaceColorJitter', brightness=0.1, contrast=0.1, saturation=0.1, hue=0.01),
    dict(type='PackHead2HeadInputs'),
]
test_pipeline = [
    dict(type='LoadHead2HeadFrames', with_parsing=True),
    dict(type='PackHead2HeadInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    batch_sampler=dict(type='KShotBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='index.json',
        num_sources=[1, 2, 4],
        source_scope='video',
        # the sample's astronaut photo has no other frame to be a source
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
        num_sources=4,
        source_scope='video',
        on_small_pool='skip',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
