# HeSer stage 1, the paper's setting: 512x512, 1 sample per GPU on 6 GPUs.
#   tools/dist_train.sh configs/head2head_aligner.py 6
_base_ = [
    '../_base_/models/head2head_aligner.py',
    '../_base_/datasets/talking_heads_head2head.py',
    '../_base_/schedules/head2head_1000k.py',
    '../_base_/default_runtime.py',
    '../_base_/evaluation/head_swap_metrics.py',
]

# K source shots drawn per batch from {1, 2, 4, 8} (the supplement does not give K)
train_dataloader = dict(batch_size=1, num_workers=4, dataset=dict(num_sources=[1, 2, 4, 8]))
val_dataloader = dict(batch_size=1, dataset=dict(num_sources=8))
test_dataloader = val_dataloader
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# self-reenactment within the validation videos: CSIM, pose/expression error, AKD, PSNR,
# SSIM, LPIPS (network files: configs/_base_/evaluation/head_swap_metrics.py). The paper's
# protocols (fixed splits, cross-identity, FID) are the configs in configs/evaluation/.
val_evaluator = {{_base_.aligner_val_metrics}}
test_evaluator = val_evaluator

# 1 sample per GPU: batch statistics of the encoders' BatchNorm over all 6 GPUs
sync_bn = 'torch'

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=5000, max_keep_ckpts=3),
    # (sources, driver, output, predicted head mask, target)
    visualization=dict(
        type='ImageGridHook', interval=1000,
        keys=('source_imgs', 'driver_img', 'pred_img', 'pred_mask', 'gt_img')))

# stop at the first NaN/Inf loss, after saving a checkpoint to resume from
custom_hooks = [dict(type='RNGStateHook'), dict(type='NonFiniteLossHook')]
