# Stage-1 data: K source frames and a target frame of one video (the driver is the target),
# from a folder prepared by tools/dataset_converters/prepare_talking_heads.py
# (docs/en/data_format.md).
dataset_type = 'Head2HeadDataset'
data_root = 'data/sample'
num_sources = 8  # K during meta-learning

train_pipeline = [
    dict(type='LoadHead2HeadFrames'),  # source_imgs (K), driver_img, gt_img, gt_parsing
    dict(type='PackHead2HeadInputs'),  # gt_mask = head labels 1-13, 17, 18 of gt_parsing
]
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='index.json',
        num_sources=num_sources,
        pipeline=train_pipeline))
