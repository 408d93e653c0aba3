import io

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from headswap.provenance import SpreadSpectrumWatermark, detect_watermark, mark_frames, mark_image
from .conftest import PHOTOS, photo


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, 'JPEG', quality=quality)
    return np.array(Image.open(buf).convert('RGB'))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(255 ** 2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_round_trip_on_a_real_photo(astronaut):
    marked = mark_image(astronaut)
    assert marked.shape == astronaut.shape and marked.dtype == np.uint8
    assert _psnr(astronaut, marked) > 35
    detected, score = detect_watermark(marked)
    assert detected and score > 20
    assert detect_watermark(astronaut)[0] is False


@pytest.mark.parametrize('attack', ['jpeg75', 'jpeg50', 'resize50', 'resize50+jpeg75'])
def test_survives_compression_and_resizing(astronaut, attack):
    x = mark_image(astronaut)
    if 'resize50' in attack:
        x = cv2.resize(x, (128, 128), interpolation=cv2.INTER_AREA)
    if 'jpeg75' in attack:
        x = _jpeg(x, 75)
    if attack == 'jpeg50':
        x = _jpeg(x, 50)
    detected, score = detect_watermark(x)
    assert detected, f'{attack}: score {score:.2f}'


def test_crop_is_found_by_the_crop_search():
    img = photo('coffee')
    marked = mark_image(img)
    h, w = marked.shape[:2]
    cropped = marked[12:12 + round(h * 0.9), 20:20 + round(w * 0.9)]
    result = SpreadSpectrumWatermark().detect_image(cropped)
    assert result.detected and result.hypothesis == 'cropped'
    assert abs(result.scale - 0.9) <= 0.011


def test_not_detected_on_unmarked_real_images():
    wm = SpreadSpectrumWatermark()
    images = [photo(n) for n in PHOTOS]
    images += [_jpeg(im, 75) for im in images]
    images += [np.full((120, 160, 3), 128, np.uint8),
               np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)]
    for im in images:
        result = wm.detect_image(im)
        assert not result.detected
        assert result.aligned_score < wm.threshold - 1.5
        assert result.crop_score < wm.crop_threshold - 1.5


def test_other_key_does_not_detect(astronaut):
    marked = SpreadSpectrumWatermark(key='someone-else').embed_image(astronaut)
    assert not SpreadSpectrumWatermark().detect_image(marked).detected


def test_mark_frames_batched_matches_single_and_keeps_dtype():
    frames = np.stack([photo(n)[:192, :256] for n in PHOTOS])
    batch = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    out = mark_frames(batch)
    assert out.dtype == torch.uint8 and out.shape == batch.shape
    for i in range(len(frames)):
        single = mark_image(frames[i])
        np.testing.assert_array_equal(out[i].permute(1, 2, 0).numpy(), single)
    as_float = mark_frames(batch.float())
    assert as_float.dtype == torch.float32
    assert (as_float - out.float()).abs().max() <= 1  # same pattern, rounding apart
    assert mark_frames(batch[:0]).shape == (0, 3, 192, 256)


def test_video_frames_accumulate_evidence():
    wm = SpreadSpectrumWatermark(strength=0.6)
    base = photo('chelsea')
    frames = [_jpeg(wm.embed_image(np.roll(base, 3 * i, axis=1)), 60) for i in range(12)]
    single = max(wm.detect_image(f).aligned_score for f in frames)
    result, per_frame = wm.detect_frames(frames)
    assert len(per_frame) == 12 and result.frames == 12
    assert result.detected and result.score > single


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_mark_frames_on_cuda_matches_cpu():
    batch = torch.from_numpy(photo('coffee')).permute(2, 0, 1)[None].contiguous()
    gpu = mark_frames(batch.cuda())
    assert gpu.device.type == 'cuda'
    assert (gpu.cpu().int() - mark_frames(batch).int()).abs().max() <= 1


def test_bad_inputs_are_refused():
    wm = SpreadSpectrumWatermark()
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        wm.embed(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match='RGB'):
        mark_image(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match='uint8'):
        mark_image(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match='too small'):
        mark_image(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match='band'):
        SpreadSpectrumWatermark(band=(10, 200))


def _grey(luma: np.ndarray) -> np.ndarray:
    return np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)


@pytest.mark.parametrize('size', [(144, 176), (272, 640), (512, 512)])
def test_change_is_bounded_by_local_texture(size):
    """At most 2 levels on flat grey and on linear gradients (any slope and direction), and on
    the flat part of a half-textured frame; at most 6 levels in texture, where it does go
    above 2 (the strength adapts); the marked flat frame is still detected."""
    wm = SpreadSpectrumWatermark()
    h, w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    smooth = {'flat grey': np.full((h, w), 128.0), 'dark': np.full((h, w), 12.0),
              'ramp x': 20 + 215 * xx / w, 'ramp y': 235 - 215 * yy / h,
              'ramp diagonal': 40 + 1.5 * (xx + yy) * 256 / (h + w),
              'shallow ramp': 120 + 10 * xx / w}
    for name, luma in smooth.items():
        img = _grey(luma)
        change = np.abs(wm.embed_image(img).astype(int) - img)
        assert change.max() <= 2, f'{name}: {change.max()} levels'
    marked_flat = wm.embed_image(_grey(smooth['flat grey']))
    assert wm.detect_image(marked_flat).detected

    rng = np.random.default_rng(0)
    noise = 128 + rng.normal(0, 20, (h, w))
    cut = w // 2 + 3  # not on a cell boundary
    half = np.where(xx < cut, noise, 128.0)
    textured = {'noise': noise, 'half': half,
                'photo': cv2.resize(photo('coffee'), (w, h), interpolation=cv2.INTER_AREA)}
    for name, img in textured.items():
        img = img if img.ndim == 3 else _grey(img)
        change = np.abs(wm.embed_image(img).astype(int) - img).max(axis=2)
        assert change.max() <= 6, f'{name}: {change.max()} levels'
        assert change.max() > 2, f'{name}: the texture should carry a stronger mark'
        if name == 'half':
            assert change[:, cut:].max() <= 2, 'the flat half beside the texture'
