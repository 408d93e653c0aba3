import fractions
import os
import os.path as osp
import shutil
import stat

import av
import numpy as np
import pytest
import torch
from PIL import Image

from headswap.provenance import (DIGITAL_SOURCE_TYPE, Provenance, detect_watermark, mark_frames,
                                 open_video_writer, read_provenance, tag_video, write_image)
from headswap.provenance.c2pa_signer import c2pa_available, local_signer_paths
from headswap.version import __version__
from tests.test_apis.media_fixtures import assert_same_audio
from .conftest import photo

needs_c2pa = pytest.mark.skipif(not c2pa_available(), reason='pip install c2pa-python')


def _check_fields(info: dict, watermark: str = 'headswap-ss-v1') -> None:
    assert info['synthetic'] is True
    f = info['fields']
    assert f['generator'] == 'headswap' and f['version'] == __version__
    assert f['watermark'] == watermark
    assert f['digital_source_type'] == DIGITAL_SOURCE_TYPE


@pytest.mark.parametrize('suffix,sources', [('.png', {'png-text', 'xmp'}),
                                            ('.jpg', {'exif', 'xmp'})])
def test_image_metadata_round_trip(tmp_path, astronaut, suffix, sources):
    path = write_image(str(tmp_path / f'out{suffix}'), astronaut, Provenance(c2pa=False))
    info = read_provenance(path)
    _check_fields(info)
    assert set(info['sources']) == sources and info['c2pa'] is None
    assert detect_watermark(path)[0]


@needs_c2pa
@pytest.mark.parametrize('suffix', ['.png', '.jpg'])
def test_image_c2pa_with_local_untrusted_certificate(tmp_path, astronaut, suffix):
    path = write_image(str(tmp_path / f'out{suffix}'), astronaut)
    info = read_provenance(path)
    _check_fields(info)
    c2pa = info['c2pa']
    assert 'c2pa' in info['sources']
    assert c2pa['validation_state'] == 'Valid' and c2pa['trusted'] is False
    assert 'unverified local signer' in c2pa['signer']
    assert c2pa['digital_source_type'] == DIGITAL_SOURCE_TYPE
    assert c2pa['fields']['watermark'] == 'headswap-ss-v1'
    assert detect_watermark(path)[0]  # signing does not touch the pixels


@needs_c2pa
def test_c2pa_with_the_users_certificate(tmp_path, astronaut):
    cert, key = local_signer_paths(str(tmp_path / 'mine'))
    path = write_image(str(tmp_path / 'out.png'), astronaut,
                       Provenance(c2pa_cert=cert, c2pa_key=key))
    assert read_provenance(path)['c2pa']['validation_state'] == 'Valid'
    with pytest.raises(ValueError, match='both'):
        write_image(str(tmp_path / 'x.png'), astronaut, Provenance(c2pa_cert=cert))
    with pytest.raises(FileNotFoundError, match='nope.pem'):
        write_image(str(tmp_path / 'y.png'), astronaut,
                    Provenance(c2pa_cert=str(tmp_path / 'nope.pem'), c2pa_key=key))


def test_disabling_the_watermark_is_recorded(tmp_path, astronaut):
    path = write_image(str(tmp_path / 'off.png'), astronaut, Provenance(watermark=False))
    info = read_provenance(path)
    _check_fields(info, watermark='disabled')
    assert 'DISABLED' in Provenance(watermark=False).description
    assert not detect_watermark(path)[0]
    np.testing.assert_array_equal(np.asarray(Image.open(path)), astronaut)


def test_already_marked_frames_are_not_marked_twice(tmp_path, astronaut):
    marked = mark_frames(torch.from_numpy(astronaut).permute(2, 0, 1)[None])[0]
    marked = marked.permute(1, 2, 0).numpy()
    path = write_image(str(tmp_path / 'pre.png'), marked, Provenance(c2pa=False),
                       already_marked=True)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), marked)


def _source_video(path: str, frames: int = 20, fps: int = 25) -> None:
    """A short clip (pans over a real photo) with a 440 Hz AAC track."""
    base = photo('coffee')[:192, :256]
    with av.open(path, 'w') as c:
        v = c.add_stream('libx264', rate=fps)
        v.width, v.height, v.pix_fmt = 256, 192, 'yuv420p'
        a = c.add_stream('aac', rate=16000)
        for i in range(frames):
            c.mux(v.encode(av.VideoFrame.from_ndarray(np.roll(base, 4 * i, axis=1),
                                                      format='rgb24')))
        c.mux(v.encode(None))
        t = np.arange(16000 * frames // fps) / 16000
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                               format='fltp', layout='mono')
            frame.sample_rate = 16000
            c.mux(a.encode(frame))
        c.mux(a.encode(None))


def _decode(path: str):
    with av.open(path) as c:
        video = c.streams.video[0]
        frames = [f.to_ndarray(format='rgb24') for f in c.decode(video=0)]
        rate = video.average_rate
    with av.open(path) as c:
        audio = [s.codec_context.name for s in c.streams.audio]
    return frames, rate, audio


@pytest.mark.parametrize('gpu_style', [False, True])
def test_video_writer_metadata_audio_and_watermark(tmp_path, gpu_style):
    src = str(tmp_path / 'target.mp4')
    _source_video(src)
    frames, rate, _ = _decode(src)
    out = str(tmp_path / 'swap.mp4')
    prov = Provenance(c2pa=c2pa_available())
    with open_video_writer(out, fractions.Fraction(25), (256, 192), prov, audio_from=src,
                           already_marked=gpu_style) as w:
        for i in range(0, len(frames), 8):
            batch = torch.from_numpy(np.stack(frames[i:i + 8])).permute(0, 3, 1, 2)
            w.write(mark_frames(batch) if gpu_style else batch)
    got, got_rate, audio = _decode(out)
    assert len(got) == len(frames) and got_rate == rate and audio == ['aac']
    assert_same_audio(out, src)  # the source's audio, as long and with the same samples
    info = read_provenance(out)
    _check_fields(info)
    assert 'container' in info['sources']
    if c2pa_available():
        assert info['c2pa']['validation_state'] == 'Valid'
    detected, score = detect_watermark(out)
    assert detected and score > 10
    assert not detect_watermark(src)[0]


def test_tag_video_adds_metadata_without_reencoding(tmp_path):
    src = str(tmp_path / 'plain.mp4')
    _source_video(src, frames=10)
    os.chmod(src, 0o644)
    shutil.copy(src, tmp_path / 'copy.mp4')
    before, _, _ = _decode(src)
    tag_video(src, Provenance(watermark=False, c2pa=False))
    after, _, audio = _decode(src)
    assert len(after) == 10 and audio == ['aac']
    assert_same_audio(src, str(tmp_path / 'copy.mp4'))
    # rewritten in place through a temporary file: others can still read it (not 0600)
    assert stat.S_IMODE(os.stat(src).st_mode) == 0o644
    np.testing.assert_array_equal(before[3], after[3])
    _check_fields(read_provenance(src), watermark='disabled')


def test_unreadable_files_give_clear_errors(tmp_path):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='bad.png'):
        read_provenance(str(bad))
    with pytest.raises(ValueError, match='bad.png'):
        detect_watermark(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        detect_watermark(str(tmp_path / 'missing.mp4'))
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\x00\x00\x00\x18ftypmp42' + b'\x00' * 64)
    with pytest.raises(ValueError, match='broken.mp4'):
        detect_watermark(str(broken))
    with pytest.raises(ValueError, match='out.gif'):
        write_image(str(tmp_path / 'out.gif'), photo(), Provenance(c2pa=False))
    assert osp.isfile(str(bad))


def test_video_writer_pads_odd_frame_sizes(tmp_path):
    import av
    import numpy as np

    from headswap.provenance import Provenance, open_video_writer
    frames = np.random.default_rng(0).integers(0, 255, (3, 25, 33, 3), dtype=np.uint8)
    path = str(tmp_path / 'odd.mp4')
    with open_video_writer(path, 25, (33, 25), Provenance(c2pa=False)) as w:
        assert w.padded == (1, 1)
        w.write(frames)
    with av.open(path) as c:
        s = c.streams.video[0]
        assert (s.width, s.height) == (34, 26)
        assert sum(1 for _ in c.decode(s)) == 3
