"""The source bank: S's photos, folder or video -> K aligned crops -> stage 1's source code,
encoded once and cached."""
import logging
import math
import os
import os.path as osp
from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import print_log

from headswap.errors import UserError
from .face_selection import (CONFIDENT_FACE_SCORE, check_face_choice, choose_face, confident_faces,
                             warn_several_faces)
from .media import VideoReader, check_rgb_array, input_kind, list_images, read_image
from .source_selection import farthest_point_sampling, head_pose_angles

__all__ = ['SourceBank', 'Source']

Source = Union[str, np.ndarray]


class SourceBank:
    """Analyse sources like the training data and keep stage 1's code of K of them.

    Every face found is aligned like the training data; when there are more than K, K are
    chosen by farthest-point sampling on head pose (approximate yaw, pitch, roll from the
    landmarks). A file without a detectable face is an error naming it.

    Args:
        analysis: The :class:`~headswap.face.FaceAnalysis` of the inferencer.
        encode: ``(1, K, 3, S, S)`` uint8 crops on the device -> ``(1, d)`` code.
        settings: The inference settings (``num_sources``, ``batch_size``,
            ``max_source_frames``).
        device: Where the crops go for encoding.
    """

    def __init__(self, analysis, encode: Callable[[torch.Tensor], torch.Tensor],
                 settings: dict, device: torch.device):
        self.analysis, self.encode, self.settings, self.device = \
            analysis, encode, settings, device
        self.cache: Dict[Any, Dict[str, Any]] = {}
        self.current: Optional[Dict[str, Any]] = None

    def set(self, sources: Union[Source, Sequence[Source]], num_sources: Optional[int] = None,
            variant: Hashable = None, face: Union[str, int] = 'largest') -> Dict[str, Any]:
        """Make ``sources`` current (analysed and encoded once per ``variant``, e.g. bf16),
        using the face ``face`` of each file (``'largest'`` or a face number: 1 = leftmost).

        Returns:
            ``dict(code=(1, d) tensor, crops=[K (S, S, 3)], names=[K], poses=(K, 3),
            candidates=number of faces found, skipped=[why each unusable file was left
            out]``). Files without a usable face (or unreadable) are left out with a warning;
            an error only when none is usable (or the only one is not).
        """
        k = int(num_sources or self.settings['num_sources'])
        items = list(sources) if isinstance(sources, (list, tuple)) else [sources]
        if not items:
            raise UserError('no source images given')
        face = check_face_choice(face, 'source_face')
        key = (tuple(self.key(x) for x in items), k, variant, face)
        if key not in self.cache:
            crops, lms, names, skipped = [], [], [], []
            files = [f for item in items for f in self._expand(item)]
            for item in files:
                try:
                    faces = self.analyse(item, face)
                except UserError as e:
                    if len(files) == 1:
                        raise
                    skipped.append(str(e))  # unusable: left out, said, and the rest go on
                    continue
                for name, crop, lm in faces:
                    crops.append(crop)
                    lms.append(lm)
                    names.append(name)
            if not names:
                raise UserError(f'no usable source among {len(files)}: ' + '; '.join(skipped))
            for why in skipped:
                print_log(f'source left out: {why}', logger='current', level=logging.WARNING)
            poses = head_pose_angles(np.stack(lms))
            chosen = farthest_point_sampling(poses, k, robust=True)
            crops = [crops[i] for i in chosen]
            x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)[None].to(self.device)
            self.cache[key] = dict(code=self.encode(x), crops=crops,
                                   names=[names[i] for i in chosen], poses=poses[chosen],
                                   candidates=len(names), skipped=skipped)
        self.current = self.cache[key]
        return self.current

    @staticmethod
    def key(item: Source):
        """What identifies a source item: a hash of an array's rows, a file's path and stat."""
        if isinstance(item, np.ndarray):
            return ('array', item.shape, hash(item[::max(1, item.shape[0] // 64)].tobytes()))
        st = os.stat(item) if osp.exists(item) else None
        return (osp.abspath(item), st.st_mtime_ns if st else 0, st.st_size if st else 0)

    def _frames(self, item: Source) -> Tuple[str, List[Tuple[int, np.ndarray]]]:
        if isinstance(item, np.ndarray):
            return 'array', [(0, check_rgb_array(item, 'source'))]
        if input_kind(item) == 'image':
            return item, [(0, read_image(item))]
        reader = VideoReader(item)
        total = reader.expected_frames or self.settings['max_source_frames']
        reader.stride = max(1, math.ceil(total / self.settings['max_source_frames']))
        frames = list(reader)
        if reader.end is not None and reader.end.error and not frames:
            raise UserError(f'{item}: {reader.end.error}')
        return item, frames

    @staticmethod
    def _expand(item: Source) -> List[Source]:
        """A folder's images (each one a source file of its own), anything else as it is."""
        if isinstance(item, str) and input_kind(item) == 'folder':
            paths = list_images(item)
            if not paths:
                raise UserError(f'{item}: no images in this folder')
            return paths
        return [item]

    def analyse(self, item: Source, face: Union[str, int] = 'largest'
                ) -> List[Tuple[str, np.ndarray, np.ndarray]]:
        """``[(name, crop, crop landmarks)]`` of face ``face`` of each frame of one source
        file, video or array (folders are expanded into their files first, :meth:`_expand`);
        a warning when a frame had several confident faces."""
        name, frames = self._frames(item)
        a, size = self.analysis, self.settings['batch_size']
        min_score = self.settings.get('confident_face_score', CONFIDENT_FACE_SCORE)
        counts = dict(frames=len(frames), several_faces=0, most_faces=0)
        faces = []
        for start in range(0, len(frames), size):
            chunk = frames[start:start + size]
            images = [f for _, f in chunk]
            dets = a.detect(images)
            for d in dets:
                n = len(confident_faces(d, min_score))
                counts['several_faces'] += int(n > 1)
                counts['most_faces'] = max(counts['most_faces'], n)
            keep = [(i, j) for i, j in ((i, choose_face(d, face, min_score)[0])
                                        for i, d in enumerate(dets)) if j is not None]
            if not keep:
                continue
            boxes = np.stack([dets[i].boxes[j] for i, j in keep])
            kps = None if any(dets[i].keypoints is None for i, _ in keep) else np.stack(
                [dets[i].keypoints[j] for i, j in keep])
            lms, ok = a.landmarks([images[i] for i, _ in keep], boxes, kps)
            for (i, _), lm, good in zip(keep, lms, ok):
                if not good:
                    continue
                m = a.transform(lm)
                label = name if len(frames) == 1 else f'{name}#{chunk[i][0]}'
                crop = a.align(images[i], m)
                faces.append((label, crop, a.read_crop_landmarks(
                    [crop], a.crop_landmarks(lm, m)[None])[0]))
        if not faces and face != 'largest' and counts['most_faces']:
            raise UserError(f'{name}: no face {face} (source_face): at most '
                            f'{counts["most_faces"]} face(s) found in a frame')
        if not faces:
            where = 'this image' if len(frames) == 1 else f'any of the {len(frames)} frames read'
            raise UserError(f'{name}: no face found in {where}; use a photo or video where '
                            f"S's face is visible (at least {a.min_face_size:.0f} px wide)")
        warn_several_faces(name, counts, face, 'source_face')
        return faces
