import ast
import subprocess
import sys

import pytest
from mmengine.registry import MODELS as MMENGINE_MODELS

from headswap.registry import DATA_SAMPLERS, HOOKS, LOOPS, MODEL_WRAPPERS, MODELS
from headswap.utils import register_all_modules


def test_import_headswap_is_cheap():
    """``import headswap`` loads the package and its version only: no third-party module
    (torch, mmengine, numpy, ...) and no other headswap module. Which modules got imported is
    checked, not the wall clock (a loaded CI machine makes any time limit flaky)."""
    code = ('import sys; before = set(sys.modules); import headswap; '
            'print(sorted(set(sys.modules) - before))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    new = ast.literal_eval(out[-1])
    third_party = [m for m in new if m.split('.')[0] not in sys.stdlib_module_names
                   and m.split('.')[0] != 'headswap']
    assert third_party == []
    assert [m for m in new if m.split('.')[0] == 'headswap'] == ['headswap', 'headswap.version']


def test_lookup_with_and_without_scope():
    register_all_modules()
    cls = MODELS.get('VGG19Features')
    assert cls is not None and cls.__module__.startswith('headswap.models')
    assert MODELS.get('headswap.VGG19Features') is cls
    # from mmengine's root registry only with the scope prefix
    assert MMENGINE_MODELS.get('headswap.L1Loss') is MODELS.get('L1Loss')
    # mmengine parts are found through the parent
    assert LOOPS.get('IterBasedTrainLoop') is not None
    assert LOOPS.get('ResumableIterBasedTrainLoop') is not None
    assert HOOKS.get('CheckpointHook') is not None
    assert DATA_SAMPLERS.get('ResumableInfiniteSampler') is not None
    assert MODEL_WRAPPERS.get('SeparateDistributedDataParallel') is not None
    assert MODEL_WRAPPERS.get('GradientSyncDataParallel') is not None


def test_build_with_scope_and_unknown_name():
    register_all_modules()
    loss = MODELS.build(dict(type='headswap.L1Loss', loss_weight=2.0))
    assert loss.loss_weight == 2.0
    with pytest.raises(KeyError, match='NoSuchLoss'):
        MODELS.build(dict(type='NoSuchLoss'))


def test_cross_package_scope():
    """Sister packages are reached by scope from headswap's registry (mmseg's ResNet)."""
    register_all_modules()
    backbone = MODELS.build(dict(type='mmseg.ResNetV1c', depth=18, base_channels=8,
                                 stem_channels=8, init_cfg=None))
    assert type(backbone).__module__.startswith('mmseg')
