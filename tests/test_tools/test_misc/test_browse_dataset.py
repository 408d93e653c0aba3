"""browse_dataset.py draws the bundled sample through both stages' base dataset configs."""

import cv2
import pytest

from ..tool_loader import ROOT, load_tool

TOOL = 'tools/misc/browse_dataset.py'


@pytest.mark.parametrize('stage, columns', [('head2head', 4 + 1 + 1 + 1),  # K=4, D, I_T, mask
                                            ('head2scene', 5)])  # I_T, I_T', P_T, P_T', gt
def test_grids_of_the_bundled_sample(tmp_path, stage, columns, monkeypatch):
    cfg = tmp_path / f'{stage}.py'
    cfg.write_text(f"_base_ = ['{ROOT}/configs/_base_/datasets/talking_heads_{stage}.py']\n"
                   "default_scope = 'headswap'\n")
    monkeypatch.chdir(ROOT)  # data_root='data/sample' is relative to the repository
    written = load_tool(TOOL).main([str(cfg), '--split', 'val', '--num', '3', '--per-grid',
                                    '2', '--tile', '32', '--out', str(tmp_path / 'grids')])
    assert len(written) == 2
    grid = cv2.imread(written[0])
    assert grid.shape == (2 + 2 * 34, 2 + columns * 34, 3)
