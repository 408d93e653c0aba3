# Tiny models for the quick start and tests (CPU, 64x64 crops): the tiny stage configs with
# checkpoints made by tools/misc/make_tiny_checkpoints.py on the bundled sample. They show
# the pipeline end to end; swaps of real quality need both stages trained on real data.
_base_ = ['./headswap_offline.py']

model = dict(
    aligner='configs/head2head/head2head_aligner_tiny-lmk_1xb2-1k_sample-32.py',
    blender='configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py',
    aligner_checkpoint='checkpoints/tiny/head2head_aligner_tiny.pth',
    blender_checkpoint='checkpoints/tiny/head2scene_blender_tiny.pth',
    resolution=64)

inference = dict(batch_size=4, workers=2)
