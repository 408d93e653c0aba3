# The tiny stage-1 config on the tests-only synthetic dataset (tests/synthetic_head2head.py).
_base_ = ['../../../configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py']

custom_imports = dict(imports=['tests.synthetic_head2head'], allow_failed_imports=False)

train_dataloader = dict(
    batch_sampler=None,
    dataset=dict(_delete_=True, type='SyntheticHead2HeadDataset', num_identities=2, frames=4,
                 num_sources=2, size=32))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(max_iters=20, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=10), visualization=dict(interval=10))
