"""Output naming and the image writer of the inferencer (no models)."""
import numpy as np
import pytest

from headswap.apis.face_selection import FaceSelector, make_selector
from headswap.apis.writers import OutputWriter, colorize, output_paths
from headswap.errors import UserError
from headswap.provenance import Provenance, read_provenance


def test_output_paths_name_outputs_after_targets(tmp_path):
    (tmp_path / 'in').mkdir()
    for name in ('b.JPG', 'a.png'):
        (tmp_path / 'in' / name).write_bytes(b'')
    arr = np.zeros((4, 4, 3), np.uint8)
    pairs = output_paths([str(tmp_path / 'in'), arr], str(tmp_path / 'out'))
    assert [p for _, p in pairs] == [str(tmp_path / 'out' / 'a_swap.png'),
                                     str(tmp_path / 'out' / 'b_swap.jpg'),
                                     str(tmp_path / 'out' / 'target_0002_swap.png')]
    assert output_paths(arr, None) == [(arr, None)]
    with pytest.raises(UserError, match='several targets need an output folder'):
        output_paths([arr, arr], str(tmp_path / 'one.png'))


def test_image_writer_keeps_provenance(tmp_path):
    writer = OutputWriter(Provenance(watermark=False, c2pa=False))
    rgb = np.full((32, 32, 3), 128, np.uint8)
    writer.write_image(str(tmp_path / 'o.png'), rgb)
    assert read_provenance(str(tmp_path / 'o.png'))
    with pytest.raises(UserError, match='write images as'):
        writer.write_image(str(tmp_path / 'o.gif'), rgb)
    assert colorize(np.array([[0, 17]], np.uint8)).shape == (1, 2, 3)


def test_selector_modes_without_a_reference():
    assert make_selector(None, analysis=None).mode == 'largest'
    assert make_selector('-1', analysis=None).mode == -1
    assert isinstance(make_selector(2, analysis=None), FaceSelector)
    assert make_selector(2, None, dict(confident_face_score=0.5)).min_score == 0.5
