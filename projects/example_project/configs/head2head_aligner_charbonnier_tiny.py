# The tiny stage-1 config with the example project's Charbonnier loss as the
# reconstruction loss (model.losses.l1), from the repository root:
#   PYTHONPATH=$PWD python tools/train.py \
#       projects/example_project/configs/head2head_aligner_charbonnier_tiny.py
_base_ = ['../../../configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py']

# registers CharbonnierLoss into headswap's MODELS registry (needs the repository root
# on PYTHONPATH, so that `projects` is importable)
custom_imports = dict(imports=['projects.example_project.example_project'],
                      allow_failed_imports=False)

# same weight as the L1 loss it replaces; still logged as `loss_l1`
model = dict(
    losses=dict(l1=dict(_delete_=True, type='CharbonnierLoss', loss_weight=10.0, eps=1e-3)))
