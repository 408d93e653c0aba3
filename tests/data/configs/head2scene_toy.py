# The tiny stage-2 config on synthetic data (tests/toy_head2scene.py), for the tool tests.
_base_ = ['../../../configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py']

custom_imports = dict(imports=['tests.toy_head2scene', 'tests.toy_modules'],
                      allow_failed_imports=False)

_synthesis = [
    dict(type='PerturbHeadMask', head_labels={{_base_.synthesis_head_labels}}, max_grow=0.1),
    dict(type='ShiftHeadColor', head_labels={{_base_.synthesis_head_labels}}),
]
train_dataloader = dict(
    dataset=dict(_delete_=True, type='ToyHead2SceneDataset', num=8, size=64,
                 pipeline=_synthesis))
test_dataloader = dict(
    dataset=dict(_delete_=True, type='ToyHead2SceneDataset', num=4, size=64,
                 pipeline=_synthesis))
test_evaluator = dict(_delete_=True, type='ToyL1Metric')
train_cfg = dict(max_iters=4)
default_hooks = dict(checkpoint=dict(interval=2), visualization=dict(interval=2))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
