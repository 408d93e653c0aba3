# The quick start's stage 1 (tools/misc/make_tiny_checkpoints.py,
# configs/inference/headswap_offline_tiny-64.py): the tiny 32x32 model with the spatial driver
# path of the one-GPU landmark config (head2head_aligner_lpd-gn-lmk-..._1xb4-...): the driver's
# landmarks as one heat map per face part, added to the generator's blocks from 8 px up; a
# generator 4x as wide as the tiny config's; the adversarial terms after the first 1000 steps
# (the quick start trains 1000), as the one-GPU configs keep them off for their first 2000.
#
# Why (learning_check.py, 180 s on one CPU thread each, 12 held-out frames, 2026-12-07; head
# PSNR, mean face 22.2 dB): the tiny config 22.9 (its outputs one blurred face whatever the
# driver), with landmarks alone 22.8, plus no adversarial terms 24.2, plus this generator
# 25.4 (EMA 25.9), its heads tilting with the drivers' (docs/en/stage1_learning.md).
#   python tools/train.py configs/head2head/head2head_aligner_tiny-lmk_1xb2-1k_sample-32.py
_base_ = ['head2head_aligner_tiny_1xb2-1k_sample-32.py']

landmark_map = dict(type='LandmarkHeatmap', size=32, sigma=1.0)
model = dict(
    landmark_map=landmark_map,
    generator=dict(channels=(64, 64, 32, 32), cond_channels=8, cond_max_size=32),
    gan_warmup=1000)
