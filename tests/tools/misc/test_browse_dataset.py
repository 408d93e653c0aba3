"""browse_dataset.py draws the bundled sample through both stages' base dataset configs."""
import importlib.util
import os.path as osp

import cv2
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'browse_dataset', osp.join(ROOT, 'tools/misc/browse_dataset.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize('stage, columns', [('head2head', 4 + 1 + 1 + 1),  # K=4, D, I_T, mask
                                            ('head2scene', 5)])  # I_T, I_T', P_T, P_T', gt
def test_grids_of_the_bundled_sample(tmp_path, stage, columns, monkeypatch):
    cfg = tmp_path / f'{stage}.py'
    cfg.write_text(f"_base_ = ['{ROOT}/configs/_base_/datasets/talking_heads_{stage}.py']\n"
                   "default_scope = 'headswap'\n")
    monkeypatch.chdir(ROOT)  # data_root='data/sample' is relative to the repository
    written = _tool().main([str(cfg), '--split', 'val', '--num', '3', '--per-grid', '2',
                            '--tile', '32', '--out', str(tmp_path / 'grids')])
    assert len(written) == 2
    grid = cv2.imread(written[0])
    assert grid.shape == (2 + 2 * 34, 2 + columns * 34, 3)
