# HeSer stage 2 at the paper's setting: 512x512, two GPUs (batch 4 each).
_base_ = [
    '../_base_/models/head2scene_blender.py',
    '../_base_/datasets/head2scene_voxceleb2_512.py',
    '../_base_/schedules/gan_adam_blender_200k.py',
    '../_base_/default_runtime.py',
]

# torchvision's ImageNet VGG-19 (https://download.pytorch.org/models/vgg19-dcbb9e9d.pth),
# downloaded once by the user to this path
model = dict(vgg=dict(checkpoint='checkpoints/vgg19-dcbb9e9d.pth'))

default_hooks = dict(
    checkpoint=dict(interval=5000),
    visualization=dict(
        type='ImageGridHook', interval=1000,
        keys=('target_img', 'head_img', 'head_color_exemplar', 'inpaint_exemplar',
              'head_mask', 'inpaint_mask', 'pred_img', 'gt_img')))
