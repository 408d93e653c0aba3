"""A full-swap test config runs through tools/test.py with a combined HeadSwapper checkpoint."""
import glob
import json

import torch

from tests.conftest import run_tool
from tests.test_tools.tool_loader import load_tool

CONFIG = 'tests/data/configs/headswap_tiny_test.py'


def test_combined_checkpoint_and_test_tool(tmp_path):
    ckpts = load_tool('tools/misc/make_tiny_checkpoints.py').make_tiny_checkpoints(
        str(tmp_path / 'tiny'), iters=0)
    out = tmp_path / 'headswapper.pth'
    run_tool(['tools/model_converters/headswapper_checkpoint.py',
              'configs/inference/headswap_offline_tiny-64.py', str(out),
              '--aligner-checkpoint', ckpts['head2head_aligner_tiny.pth'],
              '--blender-checkpoint', ckpts['head2scene_blender_tiny.pth']])
    state = torch.load(out, weights_only=True)
    keys = state['state_dict']
    assert any(k.startswith('aligner.generator.') for k in keys)
    assert any(k.startswith('blender.unet.') for k in keys)
    assert not any('discriminator' in k or k.startswith('aligner.ema.') for k in keys)
    s1 = torch.load(ckpts['head2head_aligner_tiny.pth'], weights_only=True)['state_dict']
    name = next(k for k in s1 if k.startswith('generator.'))
    assert torch.equal(keys[f'aligner.{name}'], s1[f'ema.module.{name}'])  # EMA weights

    # six frames of the sample's index keep the run short
    index = json.load(open('data/sample/index.json'))
    index['data_list'] = [e for e in index['data_list'] if e['video'] == 'distorted'][:6]
    (tmp_path / 'index.json').write_text(json.dumps(index))
    work = tmp_path / 'work'
    proc = run_tool(['tools/test.py', CONFIG, str(out), '--work-dir', str(work),
                     '--show-dir', 'grids', '--cfg-options',
                     f'test_dataloader.dataset.ann_file={tmp_path / "index.json"}'])
    assert 'Iter(test) [3/3]' in proc.stdout + proc.stderr
    assert len(glob.glob(str(work / '*' / 'grids' / '*.png'))) == 6  # one per sample
