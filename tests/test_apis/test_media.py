"""Reading user photos in every common form, and damaged videos."""
import cv2
import numpy as np
import pytest
from PIL import Image

from headswap.apis.media import VideoReader, input_kind, read_image
from headswap.utils.cli import UserError
from tests.test_apis.media_fixtures import sample_frame, talking_clip, write_clip


@pytest.fixture(scope='module')
def rgb():
    return cv2.resize(sample_frame(0), (96, 64), interpolation=cv2.INTER_AREA)


def test_grayscale_rgba_and_16_bit(rgb, tmp_path):
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(tmp_path / 'g.png'), grey)
    out = read_image(str(tmp_path / 'g.png'))
    assert out.shape == (64, 96, 3) and np.array_equal(out[..., 0], grey)
    assert np.array_equal(out[..., 0], out[..., 2])

    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :10, 3] = 0  # transparent strip -> white
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'a.png')
    out = read_image(str(tmp_path / 'a.png'))
    assert np.array_equal(out[:, 10:], rgb[:, 10:]) and (out[:, :10] == 255).all()

    deep = rgb.astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / 'd.png'), deep[..., ::-1])
    assert read_image(str(tmp_path / 'd.png')).dtype == np.uint8
    assert np.array_equal(read_image(str(tmp_path / 'd.png')), rgb)
    grey16 = grey.astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / 'g16.png'), grey16)
    assert np.array_equal(read_image(str(tmp_path / 'g16.png'))[..., 1], grey)


@pytest.mark.parametrize('orientation', [3, 6, 8])
def test_exif_orientation_is_applied(rgb, tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(tmp_path / 'r.png', exif=exif)
    out = read_image(str(tmp_path / 'r.png'))
    expect = {3: np.rot90(rgb, 2), 6: np.rot90(rgb, -1), 8: np.rot90(rgb, 1)}[orientation]
    assert np.array_equal(out, expect)


def test_unreadable_files_are_named(tmp_path):
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'not an image at all')
    with pytest.raises(UserError, match='broken.jpg: not a readable image'):
        read_image(str(bad))
    with pytest.raises(UserError, match='nothing.png: no such'):
        read_image(str(tmp_path / 'nothing.png'))
    fake = tmp_path / 'clip.mp4'
    fake.write_bytes(b'\x00' * 1000)
    with pytest.raises(UserError, match='clip.mp4: not a readable video'):
        VideoReader(str(fake))
    assert input_kind(str(tmp_path)) == 'folder'


def test_truncated_video_yields_the_decodable_frames_then_an_error(tmp_path):
    path = write_clip(str(tmp_path / 'c.mp4'), talking_clip(12), faststart=True)
    reader = VideoReader(path)
    assert reader.expected_frames == 12 and reader.has_audio and reader.fps == 25
    assert len(list(reader)) == 12 and reader.end.error is None
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.mp4'
    cut.write_bytes(data[:int(len(data) * 0.6)])
    reader = VideoReader(str(cut))
    frames = list(reader)
    assert 0 < len(frames) < 12
    assert reader.end.frames == len(frames) and 'truncated' in reader.end.error
