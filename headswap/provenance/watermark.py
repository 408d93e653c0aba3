"""Invisible spread-spectrum watermark: a keyed band-limited luminance pattern and its detector.

Design (``headswap-ss-v1``, zero-bit: it answers "was this made by headswap?"):

* **Pattern.** A key (default ``'headswap'``) seeds random phases on the rfft2 coefficients of a
  ``grid x grid`` (256) plane whose radial frequency lies in ``band`` (12-80 cycles per image).
  The pattern lives in *normalised* image coordinates: it is synthesised at each frame size by
  an inverse FFT of the same coefficients, so it stretches with the frame and survives resizing.
* **Embedding.** ``frame + clip(strength * gain * bound / flat_bound * pattern, +-bound)``
  added equally to R, G, B (a luminance change). ``bound`` (:meth:`change_bound`) is a
  just-noticeable-difference mask from local texture: 2 levels on flat areas and linear
  gradients, rising with high-pass contrast to 6 levels in strong texture; no pixel of a uint8
  frame changes by more. A few pooled element-wise operations per pixel on the GPU, batched
  over frames; the pattern is cached per size.
* **Detection.** Luminance resized to ``grid x grid`` (area filter), high-pass whitened and
  clipped, circularly cross-correlated with the pattern through one FFT; the peak is
  normalised by the standard deviation of the correlation surface (a z-score). Two hypotheses:
  *aligned* (no crop; shifts of at most one grid cell; threshold ``threshold``) and *cropped*
  (isotropic crops keeping 80-100% of each side, every shift; a higher ``crop_threshold``
  because it searches ~7e5 positions). Frames of a video are combined by summing their
  whitened residuals, so evidence grows with the number of frames.
"""
import hashlib
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['WatermarkResult', 'SpreadSpectrumWatermark', 'get_watermarker', 'mark_image',
           'mark_frames']

_LUMA = (0.299, 0.587, 0.114)


@dataclass
class WatermarkResult:
    """Outcome of a detection: ``detected`` is ``score >= threshold`` of the best hypothesis."""
    detected: bool
    score: float
    threshold: float
    hypothesis: str  # 'aligned' or 'cropped'
    scale: float = 1.0
    frames: int = 1
    aligned_score: float = 0.0
    crop_score: Optional[float] = None  # None when the crop search did not run

    def as_dict(self) -> dict:
        return dict(detected=self.detected, score=round(self.score, 3),
                    threshold=self.threshold, hypothesis=self.hypothesis,
                    scale=self.scale, frames=self.frames)


class SpreadSpectrumWatermark:
    """Embed and detect the headswap watermark.

    Args:
        key: secret-less public key naming the pattern; detection needs the same key.
        strength: pattern amplitude (standard deviation) in 8-bit luminance levels on flat
            areas; it grows with the bound in texture (``strength * bound / flat_bound``).
        grid: side of the normalised detection grid.
        band: (low, high) radial frequencies of the pattern in cycles per image.
        tilt: coefficient amplitude grows as ``(f / high) ** tilt``: the low frequencies are the
            most visible and, after whitening, the least useful to the detector.
        flat_bound: the largest change (8-bit levels, per channel) on flat or smoothly graded
            areas; the pattern's tails are clipped there.
        max_bound: the largest change anywhere, reached in strong texture.
        texture_ref: local high-pass contrast (mean absolute levels) at which the bound
            reaches ``max_bound``.
        small_frame_gain: frames smaller than 512x512 get up to this much more strength
            (``sqrt(512 * 512 / (H * W))``, capped; the bounds still hold): detection evidence
            grows with the pixel count, and codecs quantise small frames harder.
        threshold: z-score needed for the aligned hypothesis.
        crop_threshold: z-score needed for the crop search.
        crop_scales: kept fractions of each side searched for cropped inputs.
    """

    name = 'headswap-ss-v1'

    def __init__(self,
                 key: str = 'headswap',
                 strength: float = 1.25,
                 grid: int = 256,
                 band: Tuple[float, float] = (12.0, 80.0),
                 tilt: float = 1.0,
                 flat_bound: float = 2.0,
                 max_bound: float = 6.0,
                 texture_floor: float = 0.5,
                 texture_ref: float = 3.0,
                 small_frame_gain: float = 2.0,
                 threshold: float = 5.0,
                 crop_threshold: float = 7.5,
                 crop_scales: Sequence[float] = tuple(np.round(np.arange(0.98, 0.79, -0.02), 2))
                 ) -> None:
        if not 0 < band[0] < band[1] < grid / 2:
            raise ValueError(f'band {band} must satisfy 0 < low < high < grid / 2 = {grid / 2}')
        self.key = key
        self.strength = float(strength)
        self.grid = int(grid)
        self.band = band
        self.tilt = float(tilt)
        if not 0 < flat_bound <= max_bound:
            raise ValueError(f'bounds must satisfy 0 < flat_bound ({flat_bound}) <= max_bound '
                             f'({max_bound})')
        self.flat_bound = float(flat_bound)
        self.max_bound = float(max_bound)
        self.texture_floor = float(texture_floor)
        self.texture_ref = float(texture_ref)
        self.small_frame_gain = float(small_frame_gain)
        self.threshold = float(threshold)
        self.crop_threshold = float(crop_threshold)
        self.crop_scales = tuple(float(s) for s in crop_scales)
        self._spectrum = self._make_spectrum()
        self._patterns: Dict[Tuple[int, int], np.ndarray] = {}
        self._device_patterns: Dict[Tuple[int, int, str], torch.Tensor] = {}

    # ------------------------------------------------------------------ pattern
    def _make_spectrum(self) -> np.ndarray:
        """Keyed random phases on the band of a (grid, grid // 2 + 1) rfft2, tilted amplitude."""
        seed = int.from_bytes(hashlib.sha256(self.key.encode('utf-8')).digest()[:8], 'little')
        rng = np.random.default_rng(seed)
        g = self.grid
        fy = np.fft.fftfreq(g) * g
        fx = np.fft.rfftfreq(g) * g
        radius = np.hypot(fy[:, None], fx[None, :])
        band = (radius >= self.band[0]) & (radius <= self.band[1])
        band[:, 0] = False  # the DC / Nyquist columns need Hermitian symmetry: leave them out
        band[:, -1] = False
        phase = rng.uniform(0.0, 2.0 * np.pi, size=band.shape)
        amplitude = (radius / self.band[1]) ** self.tilt
        return np.where(band, amplitude * np.exp(1j * phase), 0).astype(np.complex128)

    def pattern(self, height: int, width: int) -> np.ndarray:
        """The (H, W) float32 pattern with unit standard deviation (cached per size)."""
        key = (int(height), int(width))
        if key not in self._patterns:
            if len(self._patterns) >= 8:
                self._patterns.pop(next(iter(self._patterns)))
            self._patterns[key] = self._synthesise(*key)
        return self._patterns[key]

    def _synthesise(self, height: int, width: int) -> np.ndarray:
        g = self.grid
        spec = np.zeros((height, width // 2 + 1), np.complex128)
        fy = (np.fft.fftfreq(g) * g).astype(int)
        rows = np.abs(fy) < height / 2
        cols = min(g // 2 + 1, (width + 1) // 2)  # keep below the frame's Nyquist frequency
        spec[fy[rows] % height, :cols] = self._spectrum[rows, :cols]
        pat = np.fft.irfft2(spec, s=(height, width))
        std = pat.std()
        if std == 0:
            raise ValueError(f'frame {width}x{height} is too small to carry the watermark')
        return (pat / std).astype(np.float32)

    def _device_pattern(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        key = (int(height), int(width), str(device))
        if key not in self._device_patterns:
            if len(self._device_patterns) >= 8:
                self._device_patterns.pop(next(iter(self._device_patterns)))
            self._device_patterns[key] = torch.from_numpy(self.pattern(height, width)).to(device)
        return self._device_patterns[key]

    # ------------------------------------------------------------------ embedding
    @torch.no_grad()
    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Watermark a batch ``(N, 3, H, W)`` (uint8, or float in [0, 255]) on its own device.

        Returns a tensor of the same shape, dtype and device. For uint8 frames no pixel changes
        by more than :meth:`change_bound` allows: ``flat_bound`` levels on flat or smoothly
        graded areas, up to ``max_bound`` in strong texture.
        """
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f'expected frames of shape (N, 3, H, W), got {tuple(frames.shape)}')
        n, _, h, w = frames.shape
        if n == 0:
            return frames
        pat = self._device_pattern(h, w, frames.device)
        bound = self.change_bound(frames)  # (N, 1, H, W) levels
        gain = min(self.small_frame_gain, max(1.0, (512 * 512 / (h * w)) ** 0.5))
        amplitude = bound * (self.strength * gain / self.flat_bound)
        # the pattern's tails are clipped at the bound: the bound holds at every pixel
        delta = torch.minimum(torch.maximum(amplitude * pat, -bound), bound)
        if frames.dtype == torch.uint8:
            # round(x + d) == x + round(d) for integer x: add a rounded int16 delta
            out = frames.to(torch.int16).add_(delta.round_().to(torch.int16))
            return out.clamp_(0, 255).to(torch.uint8)
        return (frames.float() + delta).round_().clamp_(0, 255).to(frames.dtype)

    @torch.no_grad()
    def change_bound(self, frames: torch.Tensor) -> torch.Tensor:
        """The largest change allowed at each pixel of ``(N, 3, H, W)`` frames: (N, 1, H, W).

        A just-noticeable-difference mask from local texture: ``flat_bound`` plus
        ``(max_bound - flat_bound) * clip((contrast - texture_floor) / (texture_ref -
        texture_floor), 0, 1)``. ``contrast`` (8-bit levels) is the mean absolute high-pass
        luminance (minus its 3x3 mean) over cells of ~1/128 of the short side, plus the same
        high-pass of the cell means (texture at a few cells' scale); ramps are continued
        linearly at the borders, so a linear gradient has zero contrast everywhere. It is
        smoothed (3x3 cells), eroded (9x9 cells) and smoothed again (3x3): texture lends no
        strength to the flat pixels beside it.
        """
        n, _, h, w = frames.shape
        step = 2 if min(h, w) >= 512 else 1  # a coarse luminance is enough: subsample first
        sub = frames[:, :, ::step, ::step].float()
        luma = (sub[:, 0] * _LUMA[0] + sub[:, 1] * _LUMA[1] + sub[:, 2] * _LUMA[2]).unsqueeze(1)
        cell = max(1, min(h, w) // 128 // step)
        contrast = _high_pass(luma).abs_()  # fine texture, averaged over cells
        if cell > 1:
            contrast = F.avg_pool2d(contrast, cell, cell, ceil_mode=True)
        # texture at the scale of a few cells (whole cells only: a ramp stays a ramp)
        coarse = _high_pass(F.avg_pool2d(luma, max(2, cell), max(2, cell))).abs_()
        contrast += F.interpolate(coarse, size=contrast.shape[-2:], mode='nearest')
        contrast = F.avg_pool2d(contrast, 3, 1, 1, count_include_pad=False)
        contrast = -F.max_pool2d(-contrast, 9, 1, 4)  # erode: texture lends nothing across edges
        contrast = F.avg_pool2d(contrast, 3, 1, 1, count_include_pad=False)
        span = self.texture_ref - self.texture_floor
        texture = contrast.sub_(self.texture_floor).div_(span).clamp_(0, 1)
        bound = texture.mul_(self.max_bound - self.flat_bound).add_(self.flat_bound)
        if bound.shape[-2:] != (h, w):
            bound = F.interpolate(bound, size=(h, w), mode='bilinear', align_corners=False)
        return bound

    def embed_image(self, rgb: np.ndarray) -> np.ndarray:
        """Watermark one ``(H, W, 3)`` uint8 RGB image on the CPU."""
        rgb = _check_rgb(rgb)
        rgb = np.ascontiguousarray(rgb) if rgb.flags.writeable else rgb.copy()
        t = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)
        return self.embed(t)[0].permute(1, 2, 0).contiguous().numpy()

    # ------------------------------------------------------------------ detection
    def residuals(self, rgb: np.ndarray) -> Dict[float, np.ndarray]:
        """Whitened luminance at the grid for every searched scale: {scale: (h, w) float32}."""
        rgb = _check_rgb(rgb)
        luma = rgb.astype(np.float32) @ np.array(_LUMA, np.float32)
        out = {}
        for scale in (1.0, ) + self.crop_scales:
            side = int(round(self.grid * scale))
            out[scale] = _whiten(cv2.resize(luma, (side, side), interpolation=cv2.INTER_AREA))
        return out

    def score_residuals(self, residuals: Dict[float, np.ndarray], frames: int = 1,
                        search_crops: bool = True) -> WatermarkResult:
        """Correlate summed residuals with the pattern; best hypothesis wins."""
        g = self.grid
        z = self._zmap(residuals[1.0])
        near = np.concatenate([z[-1:, :], z[:2, :]], axis=0)
        near = np.concatenate([near[:, -1:], near[:, :2]], axis=1)
        aligned = float(near.max())
        best = WatermarkResult(aligned >= self.threshold, aligned, self.threshold, 'aligned',
                               1.0, frames, aligned)
        if best.detected or not search_crops:
            return best
        crop_best, crop_scale = float(z.max()), 1.0
        for scale in self.crop_scales:
            res = residuals[scale]
            canvas = np.zeros((g, g), np.float32)
            canvas[:res.shape[0], :res.shape[1]] = res
            peak = float(self._zmap(canvas).max())
            if peak > crop_best:
                crop_best, crop_scale = peak, scale
        best.crop_score = crop_best
        if crop_best >= self.crop_threshold:
            return WatermarkResult(True, crop_best, self.crop_threshold, 'cropped', crop_scale,
                                   frames, aligned, crop_best)
        return best

    def _zmap(self, residual: np.ndarray) -> np.ndarray:
        corr = np.fft.irfft2(np.fft.rfft2(residual) * np.conj(self._spectrum),
                             s=(self.grid, self.grid))
        std = corr.std()
        return corr / std if std > 0 else np.zeros_like(corr)

    def detect_image(self, rgb: np.ndarray, search_crops: bool = True) -> WatermarkResult:
        """Detect the watermark in one ``(H, W, 3)`` uint8 RGB image."""
        return self.score_residuals(self.residuals(rgb), 1, search_crops)

    def detect_frames(self, frames: Iterable[np.ndarray],
                      search_crops: bool = True) -> Tuple[WatermarkResult, List[float]]:
        """Detect over video frames: summed residuals decide; also per-frame aligned z-scores."""
        total: Optional[Dict[float, np.ndarray]] = None
        per_frame: List[float] = []
        count = 0
        for rgb in frames:
            res = self.residuals(rgb)
            per_frame.append(self.score_residuals(res, 1, search_crops=False).score)
            if total is None:
                total = {k: v.astype(np.float64) for k, v in res.items()}
            else:
                for k in total:
                    total[k] += res[k]
            count += 1
        if total is None:
            raise ValueError('no frames to detect the watermark in')
        return self.score_residuals(total, count, search_crops), per_frame


def _high_pass(x: torch.Tensor) -> torch.Tensor:
    """``x`` (N, 1, H, W) minus its 3x3 mean, the border padded by continuing ramps linearly
    (``2 * edge - next``): zero on any linear gradient, up to the frame's edges."""
    p = torch.cat([2 * x[..., :1, :] - x[..., 1:2, :], x,
                   2 * x[..., -1:, :] - x[..., -2:-1, :]], dim=-2)
    p = torch.cat([2 * p[..., :1] - p[..., 1:2], p, 2 * p[..., -1:] - p[..., -2:-1]], dim=-1)
    return x - F.avg_pool2d(p, 3, 1)


def _whiten(luma: np.ndarray) -> np.ndarray:
    """High-pass, locally normalised, clipped residual of a luminance plane."""
    high = luma - cv2.GaussianBlur(luma, (0, 0), 1.5)
    local = np.sqrt(cv2.GaussianBlur(high * high, (0, 0), 3.0)) + 1.0
    res = np.clip(high / local, -3.0, 3.0)
    return (res - res.mean()).astype(np.float32)


def _check_rgb(rgb: Union[np.ndarray, 'object']) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, 'shape', type(rgb).__name__)
        raise ValueError(f'expected an (H, W, 3) RGB array, got {shape}')
    if rgb.dtype != np.uint8:
        raise ValueError(f'expected uint8 RGB, got {rgb.dtype}')
    if min(rgb.shape[:2]) < 16:
        raise ValueError(f'image {rgb.shape[1]}x{rgb.shape[0]} is too small for the watermark')
    return rgb


# The shared default watermarker (headswap's public key, default strength): the image and
# video writers and the API all mark through these three functions.
_DEFAULT: Dict[str, SpreadSpectrumWatermark] = {}


def get_watermarker() -> SpreadSpectrumWatermark:
    """The shared watermarker with headswap's public key and default strength."""
    if 'wm' not in _DEFAULT:
        _DEFAULT['wm'] = SpreadSpectrumWatermark()
    return _DEFAULT['wm']


def mark_image(rgb: np.ndarray) -> np.ndarray:
    """Watermark one (H, W, 3) uint8 RGB image."""
    return get_watermarker().embed_image(rgb)


def mark_frames(frames: torch.Tensor) -> torch.Tensor:
    """Watermark a batch (N, 3, H, W) uint8 (or float in [0, 255]) on its own device."""
    return get_watermarker().embed(frames)
