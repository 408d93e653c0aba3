# Stage 2 (Head2Scene Blender), reconstruction: for every frame of the split's clips, the
# animated head I_A is synthesised from the frame itself as in training (colour-shifted head,
# grown target head region whose true content must be inpainted), so the frame is the ground
# truth. The synthesis is seeded per sample: every run sees the same inputs.
# Metrics: PSNR and LPIPS on the whole image, on A's head and on the inpainted region, SSIM, FID.
#   python tools/test.py configs/evaluation/head2scene_reconstruction_talking-heads-512.py \
#       CKPT --out work_dirs/eval/blend.json \
#       --cfg-options test_dataloader.dataset.data_root=data/voxceleb2_test
# (the stage config brings the metric definitions: configs/_base_/evaluation/)
_base_ = ['../head2scene/head2scene_vgg19-unet7_2xb4-200k_voxceleb2-512x512.py']

eval_pipeline = [
    dict(type='LoadHead2SceneFrames'),
    dict(type='PerturbHeadMask', head_labels={{_base_.synthesis_head_labels}}, max_grow=0.08),
    dict(type='ShiftHeadColor', head_labels={{_base_.synthesis_head_labels}}),
    dict(type='PackHead2SceneInputs', meta_keys=('source_identity', 'pair_index', 'protocol')),
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
        split_file='splits/reconstruction.json',  # relative to data_root
        test_mode=True,
        pipeline=eval_pipeline))
test_evaluator = {{_base_.reconstruction_metrics}}
test_cfg = dict(type='TestLoop')
