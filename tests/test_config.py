import os.path as osp

from mmengine.config import Config

from headswap.utils.config import load_config


def test_config_inherits_base_and_overrides(tmp_path, repo_root):
    base = osp.join(repo_root, 'configs', '_base_', 'default_runtime.py')
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{base}']\n"
                     "default_hooks = dict(checkpoint=dict(interval=7))\n"
                     "randomness = dict(seed=11)\n")
    cfg = load_config(str(child))
    assert cfg.default_scope == 'headswap'
    # overridden field, siblings kept from the base
    assert cfg.default_hooks.checkpoint.interval == 7
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 3
    assert cfg.default_hooks.logger.type == 'LoggerHook'
    assert cfg.randomness.seed == 11
    assert Config.fromfile(base).default_hooks.checkpoint.interval == 5000
