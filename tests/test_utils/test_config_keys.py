"""``--cfg-options`` typos are one line naming the key and the closest valid names (issue 16,
item 8); keys a component accepts but the config lacks are still allowed."""
import pytest
import torch.nn as nn

from headswap.errors import UserError
from headswap.utils.config import load_config, load_inference_config
from headswap.utils.config_keys import check_cfg_options, check_model_keys, merge_cfg_options
from tests.test_tools.tool_loader import load_tool

CONFIG = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'


@pytest.fixture(scope='module')
def cfg():
    return load_config(CONFIG)


@pytest.mark.parametrize('key, names', [
    ('model.genrator.base_channels', ["'genrator' in model (Head2HeadAligner)", 'generator']),
    ('trian_cfg.max_iters', ["top-level key 'trian_cfg'", 'train_cfg']),
    ('model.mlp.inptu_norm', ["'inptu_norm' in model.mlp (AdaINMLP)", 'input_norm']),
    ('model.losses.l1.loss_weigth', ['(L1Loss)', 'loss_weight']),
    ('train_dataloader.batch_szie', ["'batch_szie' in train_dataloader", 'batch_size']),
])
def test_unknown_key_is_one_line_with_the_closest_names(cfg, key, names):
    with pytest.raises(UserError) as e:
        check_cfg_options(cfg, {key: 1})
    msg = str(e.value)
    assert '\n' not in msg and msg.startswith(f'--cfg-options {key}: unknown')
    assert 'closest valid names: ' in msg
    for name in names:
        assert name in msg


def test_new_constructor_arguments_and_runtime_keys_are_accepted(cfg):
    assert 'gan_warmup' not in cfg.model and 'input_norm' not in cfg.model.mlp
    options = {'model.gan_warmup': 2000, 'model.mlp.input_norm': True,  # constructor args
               'train_cfg.max_iters': 3, 'load_from': 'x.pth', 'experiment_name': 'e',
               'env_cfg.dist_cfg.timeout': 60,  # an open section: a new, unrelated key
               'model.generator.type': 'LPDGenerator'}
    merged = load_config(CONFIG)
    merge_cfg_options(merged, options)
    assert merged.model.gan_warmup == 2000 and merged.model.mlp.input_norm is True


def test_a_section_set_to_none_is_switched_on_by_its_keys():
    cfg = load_config(CONFIG)
    cfg.model.pose_augmentation = None
    merge_cfg_options(cfg, {'model.pose_augmentation.type': 'PoseAugmentation',
                            'model.pose_augmentation.rotation': 10.0})
    assert cfg.model.pose_augmentation == dict(type='PoseAugmentation', rotation=10.0)
    # options apply in order: switched off, then on again
    merge_cfg_options(cfg, {'model.pose_augmentation': None,
                            'model.pose_augmentation.prob': 0.5})
    assert cfg.model.pose_augmentation == dict(prob=0.5)
    # and a key that its component does not take is still refused
    cfg.model.pose_augmentation = None
    with pytest.raises(UserError, match="unknown key 'rotaton'"):
        merge_cfg_options(cfg, {'model.pose_augmentation.type': 'PoseAugmentation',
                                'model.pose_augmentation.rotaton': 10.0})


class _TakesAnything(nn.Module):

    def __init__(self, **kwargs):
        super().__init__()


def test_components_taking_kwargs_accept_any_key():
    cfg = load_config(CONFIG)
    cfg.model.generator = dict(type=_TakesAnything, depth=2)
    check_cfg_options(cfg, {'model.generator.anything': 1})
    with pytest.raises(UserError, match="'dept' in model.generator; closest valid names: depth"):
        check_cfg_options(cfg, {'model.generator.dept': 1})  # near-miss of a key it has


def test_typo_in_a_config_file_is_found_before_the_runner(cfg):
    bad = load_config(CONFIG)
    bad.model.generator.out_resolutoin = 32
    with pytest.raises(UserError, match=r"model.generator: LPDGenerator takes no argument "
                       r"'out_resolutoin'; closest valid names: out_resolution"):
        check_model_keys(bad)
    check_model_keys(cfg)


def test_inference_config_accepts_only_its_keys():
    config = 'configs/inference/headswap_offline_tiny-64.py'
    load_inference_config(config, {'inference.feather': 0.03, 'model.resolution': 64})
    with pytest.raises(UserError, match="'modle'; closest valid names: model"):
        load_inference_config(config, {'modle.resolution': 64})
    with pytest.raises(UserError, match="'work_dir'"):  # a Runner key means nothing here
        load_inference_config(config, {'work_dir': 'x'})


def test_constructor_type_error_is_one_line(capsys):
    from headswap.registry import MODELS
    from headswap.utils.cli import friendly_errors
    with pytest.raises(SystemExit) as e, friendly_errors('tool.py'):
        MODELS.build(dict(type='L1Loss', loss_weigth=2.0))
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'Traceback' not in err
    assert "L1Loss takes no argument 'loss_weigth'" in err and 'loss_weight' in err


@pytest.mark.parametrize('tool, option', [
    (['tools/train.py', CONFIG, '--work-dir', '{tmp}'], 'model.genrator.base_channels=4'),
    (['demo/headswap_demo.py', '--config', 'configs/inference/headswap_offline_tiny-64.py',
      '--sources', 'a.jpg', '--target', 'b.jpg', '--out', '{tmp}/o.jpg'],
     'inference.batch_szie=2'),
])
def test_tools_print_one_line_and_no_config_dump(tool, option, tmp_path, capsys):
    main = load_tool(tool[0]).main
    with pytest.raises(SystemExit) as e:
        main([a.format(tmp=tmp_path) for a in tool[1:]] + ['--cfg-options', option])
    assert e.value.code == 2
    out = capsys.readouterr()
    assert 'Traceback' not in out.err and 'Config:' not in out.out + out.err
    lines = [ln for ln in (out.out + out.err).splitlines() if ln.strip()]
    assert len(lines) == 1, lines[:5]
    assert f'--cfg-options {option.split("=")[0]}: unknown key' in lines[0]
    assert 'closest valid names: ' in lines[0]


def test_typo_in_a_config_file_stops_train_before_the_config_dump(tmp_path, capsys, repo_root):
    config = tmp_path / 'typo.py'
    config.write_text(f"_base_ = [{repr(f'{repo_root}/{CONFIG}')}]\n"
                      "model = dict(generator=dict(out_resolutoin=32))\n")
    with pytest.raises(SystemExit) as e:
        load_tool('tools/train.py').main([str(config), '--work-dir', str(tmp_path / 'w')])
    assert e.value.code == 2
    out = capsys.readouterr()
    lines = [ln for ln in (out.out + out.err).splitlines() if ln.strip()]
    assert len(lines) == 1 and 'Config:' not in lines[0], lines[:5]
    assert f"{config}: model.generator: LPDGenerator takes no argument 'out_resolutoin'" \
        in lines[0]


def test_every_shipped_config_passes_the_model_check(repo_root):
    """No false alarms: every key of every typed model section of our configs is accepted."""
    import glob
    paths = [p for pattern in ('configs/**/*.py', 'tests/data/configs/*.py',
                               'projects/*/configs/*.py')
             for p in glob.glob(f'{repo_root}/{pattern}', recursive=True) if '_base_' not in p]
    assert len(paths) > 20
    for path in paths:
        cfg = load_config(path)
        for section in ('model', 'detector', 'landmarker', 'parser'):
            check_model_keys(cfg, section)
