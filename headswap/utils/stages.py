"""Running generator stages one after another, either chained in one thread or overlapped.

A stage is a function ``items -> items`` written as a generator (it may buffer, e.g. the
temporal smoother's look-ahead). :func:`run_stages` chains them: with ``threaded=False`` as
nested generators in the caller's thread (images, baselines); with ``threaded=True`` every
stage but the last runs in its own thread with a bounded queue to the next, so decoding,
CPU face analysis, the GPU stages and encoding overlap. An exception in any stage stops all
of them and is raised in the caller.
"""
import contextlib
import queue
import threading
import time
from collections import defaultdict
from typing import Callable, Dict, Iterable, Iterator, List

__all__ = ['run_stages', 'StageTimer']

Stage = Callable[[Iterable], Iterator]
_END = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


class StageTimer:
    """Busy seconds per named stage (thread-safe).

    :meth:`time` measures host wall time. :meth:`device_time` measures GPU work with
    CUDA events (no synchronisation: the events are read by :meth:`resolve`, called
    after the stream has been synchronised anyway, e.g. by a device-to-host copy);
    on the CPU it is :meth:`time`.
    """

    def __init__(self):
        self.seconds: Dict[str, float] = defaultdict(float)
        self._pending: list = []
        self._lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] += seconds

    @contextlib.contextmanager
    def time(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    @contextlib.contextmanager
    def device_time(self, name: str, device) -> Iterator[None]:
        import torch
        if torch.device(device).type != 'cuda':
            with self.time(name):
                yield
            return
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        try:
            yield
        finally:
            end.record()
            with self._lock:
                self._pending.append((name, start, end))

    def resolve(self) -> None:
        """Add the elapsed time of finished CUDA events."""
        with self._lock:
            pending, self._pending = self._pending, []
        for name, start, end in pending:
            end.synchronize()
            self.add(name, start.elapsed_time(end) / 1000.0)


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _drain(q: queue.Queue, stop: threading.Event) -> Iterator:
    while True:
        try:
            item = q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return
            continue
        if item is _END:
            return
        if isinstance(item, _Failure):
            raise item.exc
        yield item


def run_stages(source: Iterable, stages: List[Stage], threaded: bool = True,
               queue_size: int = 2) -> Iterator:
    """Yield the items of ``stages[-1](... stages[0](source))``.

    Args:
        source: The first items (e.g. decoded frame batches).
        stages: Generator functions, applied in order.
        threaded: Run ``source`` and every stage but the last in their own threads.
        queue_size: Items buffered between two threads.
    """
    if not threaded:
        items = iter(source)
        for stage in stages:
            items = stage(items)
        yield from items
        return
    stop = threading.Event()
    threads = []

    def pump(items_fn: Callable[[], Iterable], out_q: queue.Queue) -> None:
        try:
            for item in items_fn():
                if not _put(out_q, item, stop):
                    return
            _put(out_q, _END, stop)
        except BaseException as exc:  # forwarded to the caller
            _put(out_q, _Failure(exc), stop)

    q = queue.Queue(maxsize=queue_size)
    threads.append(threading.Thread(target=pump, args=(lambda: source, q), daemon=True,
                                    name='headswap-source'))
    for i, stage in enumerate(stages[:-1]):
        nxt = queue.Queue(maxsize=queue_size)
        threads.append(threading.Thread(
            target=pump, args=(lambda s=stage, inq=q: s(_drain(inq, stop)), nxt), daemon=True,
            name=f'headswap-stage{i}'))
        q = nxt
    for t in threads:
        t.start()
    try:
        yield from stages[-1](_drain(q, stop))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
