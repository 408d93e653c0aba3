# HeSer stage 1, the paper's setting: 512x512, 1 sample per GPU on 6 GPUs, K = 8 sources.
#   tools/dist_train.sh configs/head2head_aligner.py 6
_base_ = [
    '../_base_/models/head2head_aligner.py',
    '../_base_/datasets/head2head_talking_heads.py',
    '../_base_/schedules/head2head_1000k.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=1)

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=5000, max_keep_ckpts=3),
    # (sources, driver, output, predicted head mask, target)
    visualization=dict(
        type='ImageGridHook', interval=1000,
        keys=('source_imgs', 'driver_img', 'pred_img', 'pred_mask', 'gt_img')))

custom_hooks = [dict(type='RNGStateHook'), dict(type='NonFiniteLossHook')]
