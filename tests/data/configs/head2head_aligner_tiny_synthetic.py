# The tiny stage-1 config on the tests-only synthetic dataset (tests/synthetic_head2head.py).
_base_ = ['../../../configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py']

custom_imports = dict(imports=['tests.synthetic_head2head'], allow_failed_imports=False)

train_dataloader = dict(
    dataset=dict(_delete_=True, type='SyntheticHead2HeadDataset', num_identities=2, frames=4,
                 num_sources=2, size=32))
train_cfg = dict(max_iters=20)
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=10), visualization=dict(interval=10))
