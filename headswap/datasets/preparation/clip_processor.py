"""Turning one clip into aligned 512x512 frames, parsing maps and an index shard."""
import os.path as osp
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from headswap.errors import UserError
from headswap.face.alignment import (face_window, five_points, similarity_transform,
                                     smooth_points, template_points, transform_points)
from headswap.face.quality import (PREPARATION_THRESHOLDS, build_component, face_sides,
                                   read_crop_landmarks, read_crop_landmarks_and_mirrored,
                                   usable_landmarks)
from headswap.utils.stages import run_stages
from .atomic_io import atomic_write_image, remove_stale_tmp
from .sources import ClipSource, SourceError, iter_frames

__all__ = ['ClipProcessor', 'DROP_REASONS', 'RELAXED_BY', 'relax_option', 'blur_score',
           'min_face_side', 'DEFAULT_SETTINGS', 'check_settings']

# why a frame is not in the index, in the order the checks run
DROP_REASONS = ('no_face', 'small_face', 'several_faces', 'low_landmark_score', 'blurry')
# what each drop means and the setting that relaxes it: halved, or (ratio) moved halfway to 1
RELAXED_BY = dict(
    no_face=('no face detected', 'detector.score_threshold'),
    small_face=('face box under min(min_face_size, min_face_fraction x shorter frame side)',
                'preparation.min_face_size'),
    several_faces=('a second face at least several_faces_ratio of the main one',
                   'preparation.several_faces_ratio'),
    low_landmark_score=('landmarks unconfident or degenerate', 'preparation.min_landmark_score'),
    blurry=('sharpness (variance of the Laplacian) under min_blur', 'preparation.min_blur'),
)


def relax_option(reason: str, settings: dict, detector: Optional[dict] = None) -> str:
    """``--cfg-options`` text that relaxes the filter of drop ``reason``, e.g.
    ``preparation.min_blur=7.5 (now 15.0)``."""
    option = RELAXED_BY[reason][1]
    scope, key = option.split('.')
    if scope == 'detector':  # the config's value, else the detector's own default
        from headswap.utils.config_keys import constructor_default
        detector = detector or dict(type='YuNetFaceDetector')
        now = detector.get(key, constructor_default(detector.get('type'), key))
        if now is None:
            return f'{option} (lower it; {detector.get("type")} has no default to halve)'
    else:
        now = settings[key]
    new = (1 + now) / 2 if key == 'several_faces_ratio' else now / 2
    return f'{option}={new:.3g} (now {now:.3g})'


DEFAULT_SETTINGS = dict(
    size=512,               # output side in pixels
    crop_scale=2.0,         # crop side / tight ArcFace-style face crop (alignment.py)
    y_offset=0.0,           # vertical face shift, fraction of the crop side
    stride=1,               # keep every stride-th decoded frame
    max_frames=0,           # per clip, after the stride (0: all)
    smooth_sigma=2.0,       # temporal Gaussian on alignment points, in source frames
    # the stored landmarks are read again on the aligned crop (in its face window) rather
    # than moved there from the source frame; the frame's are kept where that reading is
    # unusable (headswap.face.quality.read_crop_landmarks says why)
    landmarks_on_crop=True,
    # with landmarks_on_crop, also store what the landmarker reads on each crop's mirror
    # (`landmarks_mirrored`), the landmarks training's horizontal flip (FaceFlip) gives a
    # flipped sample (a landmarker is not mirror-symmetric;
    # headswap.face.quality.read_crop_landmarks_and_mirrored)
    mirrored_landmarks=True,
    # min_face_size, min_face_fraction, several_faces_ratio, min_landmark_score, min_blur:
    # headswap.face.quality
    **PREPARATION_THRESHOLDS,
    jpeg_quality=95,
    batch_size=16,          # frames per model call
    # threads beside the models: one decodes the next frames, the others encode and write
    # the outputs (PyAV and OpenCV release the GIL); 0: all in the calling thread.
    # Does not change the output.
    io_threads=2,
    # frames that pass the checks of pass 1 are kept in memory up to this many MB per clip,
    # so pass 2 need not decode the clip again (a longer clip is decoded twice); 0: never.
    # Does not change the output.
    frame_cache_mb=1024,
)


def check_settings(settings: dict) -> None:
    """One line naming an unknown preparation setting and the closest known ones."""
    import difflib
    for key in sorted(set(settings) - set(DEFAULT_SETTINGS)):
        close = difflib.get_close_matches(key, list(DEFAULT_SETTINGS), n=3)
        hint = f'did you mean {" or ".join(close)}?' if close else \
            f'known: {", ".join(sorted(DEFAULT_SETTINGS))}'
        raise UserError(f'unknown preparation setting {key!r} ({hint})')


@dataclass
class _FrameInfo:
    frame: int
    box: np.ndarray
    landmarks: np.ndarray
    landmark_score: float
    keypoints: Optional[np.ndarray] = None  # the detector's own 5 points, if any
    image: Optional[np.ndarray] = None  # the decoded frame, kept for pass 2 (frame_cache_mb)


def min_face_side(frame_shape: Sequence[int], min_face_size: float,
                  min_face_fraction: float) -> float:
    """The smallest face box side kept in a frame of ``(H, W, ...)`` shape: ``min_face_size``
    px, or ``min_face_fraction`` of the shorter frame side if that is less (low-resolution
    clips: a 60-px face fills a 176x144 phone frame)."""
    return min(float(min_face_size), float(min_face_fraction) * min(frame_shape[:2]))


def blur_score(crop: np.ndarray, landmarks: np.ndarray, scale: float = 1.0) -> float:
    """Variance of the Laplacian of the grey crop inside the landmarks' bounding box.

    ``scale`` is the crop's magnification (crop px per source px). An upscaled crop
    (``scale > 1``) is measured at the source's own resolution (shrunk by ``scale``): the
    interpolation that enlarged it smooths every face, sharp or not, so it would call every
    low-resolution face blurry. Crops at or below the source's resolution are measured as is.
    """
    import cv2
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    if scale > 1.0:
        side = max(8, round(grey.shape[1] / scale)), max(8, round(grey.shape[0] / scale))
        landmarks = landmarks * (side[0] / grey.shape[1])
        grey = cv2.resize(grey, side, interpolation=cv2.INTER_AREA)
    h, w = grey.shape
    x1, y1 = np.floor(landmarks.min(0)).astype(int)
    x2, y2 = np.ceil(landmarks.max(0)).astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if x2 - x1 < 3 or y2 - y1 < 3:
        return 0.0
    return float(cv2.Laplacian(grey[y1:y2, x1:x2], cv2.CV_64F).var())


class ClipProcessor:
    """Runs detection, landmarks, alignment, filtering and parsing on one clip.

    Two passes over the frames: pass 1 detects faces and landmarks, then the
    alignment points are smoothed over the whole clip; pass 2 warps the kept
    frames and parses them in batches. Pass 2 takes the frames pass 1 kept in
    memory when they fit in ``frame_cache_mb``, else it decodes the clip again
    (memory stays bounded for long 1080p clips).

    Args:
        settings: See :data:`DEFAULT_SETTINGS`.
        detector, landmarker, parser: Configs (or built instances) of
            :class:`~headswap.face.providers.BaseFaceDetector`,
            :class:`~headswap.face.providers.BaseFaceLandmarker` and
            :class:`~headswap.face.providers.BaseFaceParser` (None: only for
            :meth:`alignment_jitter`, which writes nothing).
    """

    def __init__(self, settings: dict, detector, landmarker, parser):
        check_settings(settings)
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.detector = self._build(detector)
        self.landmarker = self._build(landmarker)
        self.parser = None if parser is None else self._build(parser)
        s = self.settings
        self.template = template_points(s['crop_scale'], s['size'], s['y_offset'])
        self._writers: Optional[ThreadPoolExecutor] = None

    @staticmethod
    def _build(cfg):
        return build_component(cfg)

    def _submit(self, fn, *args) -> Future:
        """``fn(*args)`` on a writer thread (``io_threads - 1`` of them; none: run now)."""
        writers = self.settings['io_threads'] - 1
        if writers < 1:
            done: Future = Future()
            done.set_result(fn(*args))
            return done
        if self._writers is None:
            self._writers = ThreadPoolExecutor(writers, thread_name_prefix='headswap-write')
        return self._writers.submit(fn, *args)

    def _frames(self, source: ClipSource):
        """The clip's frames, decoded ahead in a thread when ``io_threads`` allows."""
        s = self.settings
        frames = iter_frames(source, s['stride'], s['max_frames'])
        if s['io_threads'] < 1:
            return frames
        return run_stages(frames, [iter], threaded=True, queue_size=2 * s['batch_size'])

    # pass 1 -----------------------------------------------------------------
    def _analyse(self, source: ClipSource, drops: Dict[str, int]) -> Tuple[List[_FrameInfo], int]:
        s = self.settings
        kept: List[_FrameInfo] = []
        decoded, budget = 0, s['frame_cache_mb'] * 2**20
        for chunk in _chunks(self._frames(source), s['batch_size']):
            decoded += len(chunk)
            images = [img for _, img in chunk]
            dets = self.detector.detect(images)
            cand = []
            for (idx, img), det in zip(chunk, dets):
                if len(det) == 0:
                    drops['no_face'] += 1
                    continue
                sides = face_sides(det.boxes)
                if sides[0] < min_face_side(img.shape, s['min_face_size'],
                                            s['min_face_fraction']):
                    drops['small_face'] += 1
                    continue
                if len(det) > 1 and sides[1:].max() >= s['several_faces_ratio'] * sides[0]:
                    drops['several_faces'] += 1
                    continue
                kps = None if det.keypoints is None else det.keypoints[0]
                cand.append((idx, img, det.boxes[0], kps))
            if not cand:
                continue
            boxes = np.stack([c[2] for c in cand])
            kps = None if any(c[3] is None for c in cand) else np.stack([c[3] for c in cand])
            lms, scores = self.landmarker.predict([c[1] for c in cand], boxes, kps)
            # NaN or collapsed points (a failed landmarker) count as unconfident
            usable = usable_landmarks(np.asarray(lms, np.float64), scores,
                                      s['min_landmark_score'])
            for (idx, img, box, kp), lm, score, ok in zip(cand, lms, scores, usable):
                if not ok:
                    drops['low_landmark_score'] += 1
                    continue
                budget -= img.nbytes
                kept.append(_FrameInfo(idx, box, np.asarray(lm, np.float64), float(score),
                                       None if kp is None else np.asarray(kp, np.float64),
                                       img if budget >= 0 else None))
        if budget < 0:  # over the cap: pass 2 decodes again, keep no frame alive
            for f in kept:
                f.image = None
        return kept, decoded

    def _kept_frames(self, source: ClipSource, infos: List[_FrameInfo]):
        """``(index, image)`` of the frames of ``infos``: from memory when pass 1 kept them,
        else decoded again (every frame of the clip; the caller skips the others)."""
        if infos and all(f.image is not None for f in infos):
            return ((f.frame, f.image) for f in infos)
        return self._frames(source)

    def _transforms(self, source: ClipSource, infos: List[_FrameInfo],
                    sigma: Optional[float] = None) -> List[np.ndarray]:
        pts = np.stack([five_points(f.landmarks) for f in infos])
        if source.kind == 'video':
            sigma = self.settings['smooth_sigma'] if sigma is None else sigma
            pts = smooth_points(pts, np.array([f.frame for f in infos]), sigma)
        return [similarity_transform(p, self.template) for p in pts]

    def alignment_jitter(self, source: ClipSource,
                         sigmas: Sequence[float] = (0.0, 2.0)) -> Dict[float, dict]:
        """Temporal stability of the aligned crops of a clip, per smoothing sigma.

        Two measures, in pixels of the ``size`` x ``size`` crop, over pairs of
        kept frames one ``stride`` apart:

        * ``eye_jitter``: mean high-frequency motion of the eye region inside the
          crop, ``|d[t+1] - d[t]|`` where ``d[t]`` is the (signed) shift of the
          eye region between frames t and t+1, found by phase correlation of the
          aligned crops around the template's eyes. Constant-velocity head motion
          cancels out; frame-to-frame landmark noise does not. It is measured on
          the images, independently of the landmarks that drive the alignment
          (those are pinned to the template without smoothing, however noisy).
        * ``eye_shift``: mean ``|d[t]|`` itself: real head motion plus jitter.
          Smoothing raises it slightly (the crop no longer follows every
          movement of the eyes) while it lowers ``eye_jitter``.
        * ``crop_jitter``: mean high-frequency motion of the crop window in the
          scene, ``|c[t+1] - 2 c[t] + c[t-1]|`` of the crop corners mapped to
          the source frame (crop pixels): the shake of the whole picture that
          landmark noise causes and smoothing removes.

        Returns:
            ``{sigma: dict(eye_jitter=..., crop_jitter=..., pairs=...)}``.
        """
        import cv2
        drops = {r: 0 for r in DROP_REASONS}
        infos, _ = self._analyse(source, drops)
        if len(infos) < 3:
            raise ValueError(f'{source.display}: fewer than 3 usable frames')
        wanted = {f.frame for f in infos}
        images = {i: img for i, img in self._kept_frames(source, infos) if i in wanted}
        size = self.settings['size']
        eyes = self.template[:2]
        half = np.array([0.35, 0.25]) * (eyes[1, 0] - eyes[0, 0]) * 2
        (x0, y0), (x1, y1) = np.round(eyes.min(0) - half).astype(int), \
            np.round(eyes.max(0) + half).astype(int)
        window = cv2.createHanningWindow((x1 - x0, y1 - y0), cv2.CV_64F)
        corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
        frames = np.array([f.frame for f in infos])
        adjacent = np.diff(frames) == self.settings['stride']
        both = adjacent[1:] & adjacent[:-1]
        out = {}
        for sigma in sigmas:
            mats = self._transforms(source, infos, sigma)
            crops = [cv2.cvtColor(cv2.warpAffine(images[f.frame], m, (size, size)),
                                  cv2.COLOR_RGB2GRAY)[y0:y1, x0:x1].astype(np.float64)
                     for f, m in zip(infos, mats)]
            shifts = np.array([cv2.phaseCorrelate(a, b, window)[0]
                               for a, b in zip(crops[:-1], crops[1:])])
            scene = np.stack([transform_points(corners, cv2.invertAffineTransform(m))
                              for m in mats])
            scale = np.array([np.sqrt(abs(np.linalg.det(m[:, :2]))) for m in mats])
            accel = np.linalg.norm(scene[2:] - 2 * scene[1:-1] + scene[:-2], axis=-1).mean(-1)
            eye_accel = np.linalg.norm(shifts[1:] - shifts[:-1], axis=-1)
            eye_shift = np.linalg.norm(shifts, axis=-1)[adjacent].mean()
            out[float(sigma)] = dict(eye_jitter=float(eye_accel[both].mean()),
                                     eye_shift=float(eye_shift),
                                     crop_jitter=float((accel * scale[1:-1])[both].mean()),
                                     pairs=int(adjacent.sum()))
        return out

    # pass 2 -----------------------------------------------------------------
    def process(self, source: ClipSource, out_root: str) -> dict:
        """Process ``source`` and write its frames and parsing maps under ``out_root``.

        Returns:
            The shard: clip names, ``status`` (``'ok'`` / ``'failed'`` with a
            ``reason``), ``decoded`` frame count, ``dropped`` counts by reason,
            ``seconds`` and the index entries in ``data_list``.
        """
        import cv2
        s = self.settings
        t0 = time.perf_counter()
        drops = {r: 0 for r in DROP_REASONS}
        shard = dict(identity=source.identity, video=source.video, clip=source.clip,
                     source=source.display, status='ok', reason='', decoded=0,
                     dropped=drops, seconds=0.0, data_list=[])
        rel = osp.join(source.identity, source.video, source.clip)
        for folder in ('frames', 'parsing'):  # a killed run may have left some
            remove_stale_tmp(osp.join(out_root, folder, rel))
        writes: List[Future] = []
        try:
            infos, decoded = self._analyse(source, drops)
            shard['decoded'] = decoded
            mats = self._transforms(source, infos) if infos else []
            by_frame = {f.frame: (f, m) for f, m in zip(infos, mats)}
            pending = []
            if by_frame:
                for idx, img in self._kept_frames(source, infos):
                    if idx not in by_frame:
                        continue
                    info, mat = by_frame[idx]
                    info.image = None  # a cached frame is used once
                    crop = cv2.warpAffine(img, mat, (s['size'], s['size']),
                                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                    lm = transform_points(info.landmarks, mat)
                    blur = blur_score(crop, lm, np.sqrt(abs(np.linalg.det(mat[:, :2]))))
                    if blur < s['min_blur']:
                        drops['blurry'] += 1
                        continue
                    pending.append((info, crop, lm, blur))
                    if len(pending) == s['batch_size']:
                        shard['data_list'] += self._write(pending, rel, out_root, writes)
                        pending = []
            if pending:
                shard['data_list'] += self._write(pending, rel, out_root, writes)
            for w in writes:  # every file in place before the shard names it
                w.result()
        except SourceError as e:
            _wait(writes)
            shard.update(status='failed', reason=str(e), data_list=[])
        except BaseException:
            _wait(writes)
            raise
        shard['seconds'] = round(time.perf_counter() - t0, 3)
        return shard

    def _write(self, pending: list, rel: str, out_root: str, writes: List[Future]
               ) -> List[dict]:
        """Parse a batch; its files are written by the I/O threads (futures in ``writes``)."""
        if self.parser is None:
            raise ValueError('ClipProcessor was built without a parser')
        s = self.settings
        crops = [p[1] for p in pending]
        lms = np.stack([p[2] for p in pending])
        crop_scores = mirrored = [None] * len(pending)
        if s['landmarks_on_crop']:
            window = face_window(s['size'], s['crop_scale'], s['y_offset'])
            args = (self.landmarker, crops, lms, window, s['min_landmark_score'])
            if s['mirrored_landmarks']:
                lms, crop_scores, mirrored = read_crop_landmarks_and_mirrored(*args)
            else:
                lms, crop_scores = read_crop_landmarks(*args)
        maps = self.parser.parse(crops, lms)
        entries = []
        for (info, crop, _, blur), lm, crop_score, parsing, lm_mirrored in zip(
                pending, lms, crop_scores, maps, mirrored):
            name = f'{info.frame:06d}'
            img_path = f'frames/{rel}/{name}.jpg'.replace(osp.sep, '/')
            parsing_path = f'parsing/{rel}/{name}.png'.replace(osp.sep, '/')
            writes.append(self._submit(atomic_write_image, osp.join(out_root, img_path), crop,
                                       self.settings['jpeg_quality']))
            writes.append(self._submit(atomic_write_image, osp.join(out_root, parsing_path),
                                       np.asarray(parsing, np.uint8)))
            box = info.box
            entries.append(dict(
                frame=int(info.frame), img_path=img_path, parsing_path=parsing_path,
                landmarks=np.round(lm, 2).tolist(),
                **({} if lm_mirrored is None else
                   dict(landmarks_mirrored=np.round(lm_mirrored, 2).tolist())),
                quality=dict(face_size=round(float(max(box[2] - box[0], box[3] - box[1])), 1),
                             blur=round(blur, 1),
                             landmark_score=round(info.landmark_score, 3),
                             **({} if crop_score is None else
                                dict(crop_landmark_score=round(float(crop_score), 3))))))
        return entries


def _wait(futures: List[Future]) -> None:
    """Let started writes finish (their errors are not the one being reported)."""
    for f in futures:
        f.exception()


def _chunks(iterator, size: int):
    chunk = []
    for item in iterator:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
