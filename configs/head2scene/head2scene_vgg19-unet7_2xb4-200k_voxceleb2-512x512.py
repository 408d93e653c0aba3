# HeSer stage 2 at the paper's setting: 512x512, two GPUs (batch 4 each).
_base_ = [
    '../_base_/models/head2scene_blender.py',
    '../_base_/datasets/talking_heads_head2scene.py',
    '../_base_/schedules/gan_adam_blender_200k.py',
    '../_base_/default_runtime.py',
    '../_base_/evaluation/head_swap_metrics.py',
]

# torchvision's ImageNet VGG-19 (https://download.pytorch.org/models/vgg19-dcbb9e9d.pth),
# downloaded once by the user to this path
model = dict(vgg=dict(checkpoint='checkpoints/vgg19-dcbb9e9d.pth'))

# I_A is synthesised from I_T (SPEC section 3): T's head region is grown at random
# (PerturbHeadMask: its true content must be inpainted) and A's head colours are shifted
# (ShiftHeadColor). The labels must equal model.masks.head_labels (a test checks it).
synthesis_head_labels = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18]
train_pipeline = [
    dict(type='LoadHead2SceneFrames'),
    dict(type='FaceFlip', prob=0.5),
    dict(type='PerturbHeadMask', head_labels=synthesis_head_labels, max_grow=0.08),
    dict(type='ShiftHeadColor', head_labels=synthesis_head_labels),
    dict(type='PackHead2SceneInputs'),
]
test_pipeline = [
    dict(type='LoadHead2SceneFrames'),
    dict(type='PerturbHeadMask', head_labels=synthesis_head_labels, max_grow=0.08),
    dict(type='ShiftHeadColor', head_labels=synthesis_head_labels),
    dict(type='PackHead2SceneInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=4, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

default_hooks = dict(
    checkpoint=dict(interval=5000),
    visualization=dict(
        type='ImageGridHook', interval=1000,
        keys=('target_img', 'head_img', 'head_color_exemplar', 'inpaint_exemplar',
              'head_mask', 'inpaint_mask', 'pred_img', 'gt_img')))

# reconstruction of the validation frames: PSNR and LPIPS on the whole image, A's head and the
# inpainted region, SSIM (network files: configs/_base_/evaluation/head_swap_metrics.py); the
# fixed-split protocol with FID is configs/evaluation/head2scene_reconstruction_*.py
val_evaluator = {{_base_.blender_val_metrics}}
test_evaluator = val_evaluator
