"""Temporal smoothing of face landmarks over a video stream, equal to the whole-clip smoothing
of data preparation (:func:`headswap.face.alignment.smooth_points`)."""
from collections import deque
from typing import Any, Deque, List, Optional, Tuple

import numpy as np

from headswap.face.alignment import smooth_points

__all__ = ['StreamingSmoother']


class StreamingSmoother:
    """Gaussian smoothing of point tracks, streamed in frame order.

    Data preparation smooths the alignment points of a whole clip at once
    (non-causal, frames more than ``max_gap = 3 sigma`` apart do not mix). A
    point set is final once every frame within ``max_gap`` after it has been
    seen, so a stream needs a look-ahead of ``max_gap`` frames and gives the
    same result, frame for frame (tested). Items without points (frames
    without a face) pass through in order.

    ``push(frame, points, item)`` returns the items that became final, in input
    order, as ``(item, smoothed points or None)``; ``flush()`` returns the rest.

    Args:
        sigma: Standard deviation in source frames (0: no smoothing).
        max_gap: Frames farther apart never mix (default ``3 * sigma``).
    """

    def __init__(self, sigma: float, max_gap: Optional[float] = None):
        self.sigma = float(sigma)
        self.max_gap = 3 * self.sigma if max_gap is None else float(max_gap)
        self._pending: Deque[Tuple[int, Optional[np.ndarray], Any]] = deque()
        self._track: Deque[Tuple[int, np.ndarray]] = deque()  # (frame, raw points)

    def push(self, frame: int, points: Optional[np.ndarray], item: Any
             ) -> List[Tuple[Any, Optional[np.ndarray]]]:
        """Add one frame (``points`` ``(P, 2)`` or None); return the items now final."""
        if points is not None:
            self._track.append((int(frame), np.asarray(points, np.float64)))
        self._pending.append((int(frame), points, item))
        return self._release(latest=int(frame))

    def flush(self) -> List[Tuple[Any, Optional[np.ndarray]]]:
        """Everything still pending (the end of the stream)."""
        return self._release(latest=None)

    def _release(self, latest: Optional[int]) -> List[Tuple[Any, Optional[np.ndarray]]]:
        out = []
        while self._pending:
            frame, points, item = self._pending[0]
            if points is not None and latest is not None and frame + self.max_gap >= latest:
                break  # a later frame may still weigh on it
            self._pending.popleft()
            out.append((item, None if points is None else self._smoothed(frame)))
        if self._pending:  # forget raw points no pending frame can reach
            oldest = self._pending[0][0]
            while self._track and self._track[0][0] < oldest - self.max_gap:
                self._track.popleft()
        else:
            while self._track and latest is not None and \
                    self._track[0][0] < latest - self.max_gap:
                self._track.popleft()
        return out

    def _smoothed(self, frame: int) -> np.ndarray:
        window = [(f, p) for f, p in self._track if abs(f - frame) <= self.max_gap]
        frames = np.array([f for f, _ in window], np.float64)
        row = int(np.nonzero(frames == frame)[0][0])
        points = np.stack([p for _, p in window])
        return smooth_points(points, frames, self.sigma, self.max_gap)[row]
