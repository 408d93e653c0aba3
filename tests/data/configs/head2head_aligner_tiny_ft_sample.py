# Fine-tuning ("ft600") of the tiny stage-1 model, for the K-shot tool's tests: the ft600
# config's settings on the tiny model (the subject's frames are set by the tool).
_base_ = ['../../../configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py']

model = dict(ema=None, init_from_ema=True, test_use_ema=False)
train_dataloader = dict(
    batch_size=2, num_workers=0,  # BatchNorm at 32 px needs 2 samples (1x1 maps)
    dataset=dict(num_sources=1, source_scope='identity', on_small_pool='error'))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(max_iters=600, val_interval=600)
