# The full swap (HeadSwapper), self-reenactment: frames of a person from other videos put into
# the frames of a clip of the same person, so T itself is the ground truth of the whole pipeline.
# Metrics: CSIM (to the sources and to T), pose / expression error, AKD, PSNR and LPIPS on the
# whole image, on A's head and on the inpainted region, SSIM, FID.
#   python tools/test.py configs/evaluation/headswap_self-reenactment_talking-heads-512.py \
#       --out work_dirs/eval/swap_self.json \
#       --cfg-options model.aligner_checkpoint=A.pth model.blender_checkpoint=B.pth
_base_ = ['./headswap_cross-identity_talking-heads-512.py']

test_dataloader = dict(dataset=dict(split_file='splits/self_reenactment.json'))
test_evaluator = {{_base_.swap_self_reenactment_metrics}}
