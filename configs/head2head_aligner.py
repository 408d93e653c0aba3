# HeSer stage 1 (Head2Head Aligner), the paper's setting. Train with
#   tools/dist_train.sh configs/head2head_aligner.py 6
_base_ = ['head2head/head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py']
