# Swap heads with HeSer at 512x512, face analysis from models that PyPI packages ship (no
# downloads, CPU): YuNet boxes, MediaPipe face-mesh landmarks and the APPROXIMATE
# LandmarkFaceParser - the offline data-preparation config, so target and source crops are
# aligned exactly like the training data (template, crop_scale, smoothing).
#   python demo/headswap_demo.py --config configs/inference/headswap_offline.py \
#       --sources S.jpg [S2.jpg ...] --target T.mp4 --out swap.mp4
# The two stage checkpoints come from training (tools/train.py configs/head2head_aligner.py,
# configs/head2scene_blender.py); no trained weights are released yet.
_base_ = ['../data_preparation/talking_heads_offline.py']

default_scope = 'headswap'

model = dict(
    type='HeadSwapper',
    aligner='configs/head2head/head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py',
    blender='configs/head2scene/head2scene_vgg19-unet7_2xb4-200k_voxceleb2-512x512.py',
    aligner_checkpoint='checkpoints/head2head_aligner.pth',
    blender_checkpoint='checkpoints/head2scene_blender.pth',
    resolution=512,
    use_ema=True,
    head_parsing='auto',  # parse the generated head with `parser` below
    hair_color='target',
    # the blender configs' 'auto' (varlen on CUDA) is measured in training only; swapping
    # keeps the backend its speed table was measured with until `gpu_checks.sh OUT
    # inference-warping` (blocked vs varlen in the inferencer) says otherwise
    warping_backend='blocked')

# DEFAULT_INFERENCE_SETTINGS of headswap/apis/headswap_inferencer.py; change what differs
inference = dict(num_sources=8, batch_size=8, workers=4)
