"""Every entry point that loads a checkpoint refuses a pickled ``os.system`` (issue 20, item 6).

``load_weights`` / ``safe_torch_load`` are tested in test_checkpoint.py; these are the paths
users reach them by: ``tools/train.py --resume`` and ``load_from``, ``tools/test.py``, the
demo's ``--weights`` and the swapper's per-stage checkpoints. Each must fail with a one-line
"refused" error and the payload must not run (its marker file must not appear).
"""
import os

import pytest
import torch

from tests.test_tools.tool_loader import load_tool

STAGE1 = 'tests/data/configs/head2head_aligner_tiny_synthetic.py'
SAMPLE1 = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'
INFERENCE = 'configs/inference/headswap_offline_tiny-64.py'
ASTRONAUT = 'data/sample/frames/astronaut/photos/00000/000000.jpg'


class _Evil:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.fixture
def evil(tmp_path):
    """(checkpoint path, marker path): a Runner-looking checkpoint carrying the payload."""
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(meta=dict(iter=3), state_dict={'w': torch.zeros(1)},
                    message_hub=_Evil(str(marker))), path)
    # the payload is live: a plain (unsafe) torch.load runs it
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    return str(path), marker


def _refused(script, argv, capsys, marker, path):
    """Run ``script``'s ``main(argv)`` in this process (as the command line does, without the
    interpreter start-up): it must exit 2 with one 'refused' line naming the file."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        load_tool(script).main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err[-3000:]
    assert not marker.exists(), 'the pickled payload ran'
    # (not "no Traceback in stderr": in one process, loggers of earlier Runners may print
    # logging errors about the closed capture streams of earlier tests)
    last = err.strip().splitlines()[-1]
    prog = script.split('/')[-1]
    assert last.startswith(f'{prog}: error: {path}: refused to load'), err[-3000:]


@pytest.mark.parametrize('entry', ['resume', 'load_from', 'test', 'demo_weights',
                                   'aligner_checkpoint', 'blender_checkpoint'])
def test_entry_points_refuse_a_pickled_payload(evil, tmp_path, capsys, entry):
    path, marker = evil
    work = ['--work-dir', str(tmp_path / 'work')]
    if entry == 'resume':
        script, argv = 'tools/train.py', [STAGE1, *work, '--resume', path]
    elif entry == 'load_from':
        script, argv = 'tools/train.py', [STAGE1, *work, '--cfg-options', f'load_from={path}']
    elif entry == 'test':
        script, argv = 'tools/test.py', [SAMPLE1, path, *work, '--cfg-options',
                                         'test_evaluator=[]']
    else:
        script = 'demo/headswap_demo.py'
        argv = ['--config', INFERENCE, '--quiet', '--device', 'cpu', '--sources', ASTRONAUT,
                '--target', ASTRONAUT, '--out', str(tmp_path / 'o.png')]
        if entry == 'demo_weights':
            argv += ['--weights', path]
        else:  # the other stage untrained: only the stage under test loads a file
            other = 'blender' if entry == 'aligner_checkpoint' else 'aligner'
            argv += ['--cfg-options', f'model.{entry}={path}', f'model.{other}_checkpoint=None']
    _refused(script, argv, capsys, marker, path)
