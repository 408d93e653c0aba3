# HeSer stage 2 (Head2Scene Blender), paper setting. Full name under configs/head2scene/.
_base_ = ['./head2scene/head2scene_vgg19-unet7_2xb4-200k_voxceleb2-512x512.py']
