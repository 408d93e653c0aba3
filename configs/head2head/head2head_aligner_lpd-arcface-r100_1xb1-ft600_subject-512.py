# Few-shot fine-tuning on one subject ("ft600"): 600 iterations on the subject's K frames,
# starting from a meta-learned stage-1 checkpoint (its EMA weights when it has them).
# Prepare the subject's frames (one identity) into data/finetune_subject with
# tools/dataset_converters/prepare_talking_heads.py, then
#   python tools/train.py \
#       configs/head2head/head2head_aligner_lpd-arcface-r100_1xb1-ft600_subject-512.py \
#       --cfg-options load_from=work_dirs/<meta-learning run>/iter_1000000.pth
_base_ = ['head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512.py']

load_from = ('work_dirs/head2head_aligner_lpd-arcface-r100_6xb1-1000k_voxceleb2-512/'
             'iter_1000000.pth')

# start from the meta-learned EMA weights; no EMA of its own over 600 iterations
# one GPU at batch 1 is bound by kernel launches: replay the passes as CUDA graphs
model = dict(ema=None, init_from_ema=True, test_use_ema=False, cuda_graphs=True)
# several GPUs (tools/dist_train.sh): gradients all-reduced after backward, not by DDP hooks,
# which CUDA graphs cannot record
model_wrapper_cfg = dict(type='headswap.GradientSyncDataParallel')

# K shots of the subject: each is a target once, with the other K - 1 as sources
num_shots = 8
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    dataset=dict(
        data_root='data/finetune_subject', num_sources=num_shots - 1, source_scope='identity',
        on_small_pool='error'))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
sync_bn = None  # one GPU

train_cfg = dict(max_iters=600, val_interval=600)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=600, max_keep_ckpts=1),
    visualization=dict(interval=100))
