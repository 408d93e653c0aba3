# Stage 1 (Head2Head Aligner), cross-identity: K frames of person S reenacted by a clip of
# another person T; there is no ground truth.
# Metrics: CSIM (to the sources), ID retrieval (did S survive, or did T leak?), pose /
# expression error and AKD to the driver, FID. Network files: configs/_base_/evaluation/.
#   python tools/dataset_converters/make_splits.py data/voxceleb2_test   # once
#   python tools/test.py configs/evaluation/head2head_cross-identity_talking-heads-512.py \
#       CKPT --out work_dirs/eval/cross.json \
#       --cfg-options test_dataloader.dataset.data_root=data/voxceleb2_test
# K shots: --cfg-options test_dataloader.dataset.num_sources=8 (tools/analysis_tools/
# kshot_eval.py sweeps K).
# (the stage config brings the metric definitions: configs/_base_/evaluation/)
_base_ = ['../head2head/head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py']

eval_pipeline = [
    dict(type='LoadHead2HeadFrames', with_parsing=True),
    dict(type='PackHead2HeadInputs', meta_keys=('source_identity', 'pair_index', 'protocol')),
]
test_dataloader = dict(
    _delete_=True,
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
test_evaluator = {{_base_.cross_identity_metrics}}
test_cfg = dict(type='TestLoop')
