"""Finding the clips under an input folder and decoding their frames.

Layouts (paths relative to the input root; ``identity``, ``video``, ``clip``
are the names written to the index and used as output folders):

* ``id/video/clip.mp4`` (VoxCeleb2) -> ``(id, video, clip)``;
* deeper paths ``id/a/b/clip.mp4`` -> ``(id, 'a_b', clip)``;
* ``id/name.mp4`` -> ``(id, name, '00000')``; ``name.mp4`` -> ``(name, name, '00000')``;
* a folder of images is one clip of still frames, numbered in file-name order:
  ``id/video/*.jpg`` -> ``(id, video, '00000')``, ``id/*.jpg`` -> ``(id, 'images', '00000')``;
  images directly in the root are one identity each.

Names keep spaces and unicode; other files are counted as ignored.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Iterator, List, Tuple

import numpy as np

from headswap.errors import SourceError
from headswap.utils.media_io import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, VideoDecodeError,
                                     av_reason, decode_video, imread_rgb)

__all__ = ['ClipSource', 'discover_sources', 'iter_frames', 'VIDEO_EXTENSIONS',
           'IMAGE_EXTENSIONS', 'SourceError']


@dataclass
class ClipSource:
    """One unit of work: a video file, or a folder of still images.

    Attributes:
        identity, video, clip: Names in the index.
        kind: ``'video'`` or ``'images'``.
        paths: The video file, or the image files in frame order (absolute).
    """

    identity: str
    video: str
    clip: str
    kind: str
    paths: List[str] = field(default_factory=list)

    @property
    def key(self) -> Tuple[str, str, str]:
        return self.identity, self.video, self.clip

    @property
    def display(self) -> str:
        return self.paths[0] if self.kind == 'video' else osp.dirname(self.paths[0])


def discover_sources(root: str) -> Tuple[List[ClipSource], List[str]]:
    """All clips under ``root`` sorted by ``(identity, video, clip)``, and the ignored files.

    Raises:
        SourceError: ``root`` is not a folder, or two inputs map to the same
            ``(identity, video, clip)``.
    """
    if not osp.isdir(root):
        raise SourceError(f'{root}: not a folder')
    clips: List[ClipSource] = []
    ignored: List[str] = []
    image_dirs = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = osp.relpath(dirpath, root)
        parts = [] if rel_dir == '.' else rel_dir.split(os.sep)
        if any(p.startswith('.') for p in parts):
            continue  # hidden folders (e.g. an output folder's .shards)
        for name in sorted(filenames):
            path = osp.join(dirpath, name)
            stem, ext = osp.splitext(name)
            ext = ext.lower()
            if name.startswith('.'):
                continue
            if ext in VIDEO_EXTENSIONS:
                if len(parts) == 0:
                    key = (stem, stem, '00000')
                elif len(parts) == 1:
                    key = (parts[0], stem, '00000')
                else:
                    key = (parts[0], '_'.join(parts[1:]), stem)
                clips.append(ClipSource(*key, 'video', [osp.abspath(path)]))
            elif ext in IMAGE_EXTENSIONS:
                if len(parts) == 0:
                    clips.append(ClipSource(stem, 'images', '00000', 'images',
                                            [osp.abspath(path)]))
                else:
                    image_dirs.setdefault(tuple(parts), []).append(osp.abspath(path))
            else:
                ignored.append(path)
    for parts, paths in image_dirs.items():
        video = 'images' if len(parts) == 1 else '_'.join(parts[1:])
        clips.append(ClipSource(parts[0], video, '00000', 'images', paths))
    clips.sort(key=lambda c: c.key)
    seen = {}
    for c in clips:
        if c.key in seen:
            raise SourceError(f'{c.display} and {seen[c.key]} both map to identity/video/clip '
                              f'{"/".join(c.key)}; rename one of them')
        seen[c.key] = c.display
    return clips, ignored


def iter_frames(source: ClipSource, stride: int = 1,
                max_frames: int = 0) -> Iterator[Tuple[int, np.ndarray]]:
    """Yield ``(frame_index, (H, W, 3) uint8 RGB)`` every ``stride`` frames.

    Video frames are decoded with PyAV; ``frame_index`` is the frame's position
    in the decoded stream. Image folders yield every image (stride applies too).

    Raises:
        SourceError: The file is empty, not a video/image, truncated or corrupt.
    """
    if stride < 1:
        raise ValueError(f'stride must be >= 1, got {stride}')
    if source.kind == 'images':
        count = 0
        for i, path in enumerate(source.paths):
            if i % stride:
                continue
            img = imread_rgb(path)
            if img is None:
                raise SourceError(f'{path}: not a readable image')
            yield i, img
            count += 1
            if max_frames and count >= max_frames:
                return
        return
    import av
    path = source.paths[0]
    if osp.getsize(path) == 0:
        raise SourceError('empty file (0 bytes)')
    try:
        container = av.open(path)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise SourceError(f'not a readable video ({av_reason(e)})') from None
    with container:
        if not container.streams.video:
            raise SourceError('no video stream')
        try:
            decoded = yield from decode_video(container, stride, max_frames)
        except VideoDecodeError as e:
            raise SourceError(f'decoding failed after {e.frames} frames, the video is '
                              f'truncated or corrupt ({e.reason})') from None
        if decoded == 0:
            raise SourceError('the video has no decodable frames (truncated or corrupt)')
