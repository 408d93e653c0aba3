# Stage 1 (Head2Head Aligner), self-reenactment: K frames of a person from other videos
# reenacted by a clip of the same person; the driver frame is the ground truth.
# Metrics: CSIM (to the sources, and to the target), ID retrieval, pose / expression
# error, AKD, PSNR, SSIM, LPIPS, FID. Network files: configs/_base_/evaluation/.
#   python tools/dataset_converters/make_splits.py data/voxceleb2_test   # once
#   python tools/test.py configs/evaluation/head2head_self-reenactment_talking-heads-512.py \
#       CKPT --out work_dirs/eval/self.json \
#       --cfg-options test_dataloader.dataset.data_root=data/voxceleb2_test
# K shots: --cfg-options test_dataloader.dataset.num_sources=8 (tools/analysis_tools/
# kshot_eval.py sweeps K).
# (the cross-identity config brings the stage config, the split loader and the metrics)
_base_ = ['./head2head_cross-identity_talking-heads-512.py']

test_dataloader = dict(dataset=dict(split_file='splits/self_reenactment.json'))
test_evaluator = {{_base_.self_reenactment_metrics}}
