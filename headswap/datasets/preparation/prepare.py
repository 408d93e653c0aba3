"""Resumable, parallel preparation of a talking-head dataset (see docs/en/data_preparation.md).

Every clip is processed by a :class:`ClipProcessor` (in worker processes when
``workers > 0``), which writes its frames and parsing maps atomically and then
its *shard* ``<out>/.shards/<identity>/<video>/<clip>.json``. With several
``devices`` (one node's GPUs) each worker runs its models on one of them and
takes the next unfinished clip when it is done, so the clips spread over the
devices by themselves. A clip with a
shard is finished: a rerun after a kill skips it, and redoes clips without one
(their files are overwritten atomically). The index is always rebuilt from the
shards in sorted order, so an interrupted and resumed run writes the same
``index.json`` as an uninterrupted one.
"""
import copy
import logging
import multiprocessing as mp
import os
import os.path as osp
import time
from collections import Counter
from typing import Dict, List, Optional, Sequence

from headswap.errors import UserError
from headswap.utils.config_keys import constructor_args
from .atomic_io import atomic_write_json, read_json, remove_stale_tmp
from .clip_processor import (DEFAULT_SETTINGS, DROP_REASONS, RELAXED_BY, ClipProcessor,
                             check_settings, relax_option)
from .sources import ClipSource, SourceError, discover_sources

__all__ = ['prepare_dataset', 'merge_index', 'format_summary', 'drop_advice', 'shard_path',
           'set_models_device']

logger = logging.getLogger('headswap.prepare')

INDEX_VERSION = 1
# settings that change what is written; the others (batch size, I/O threads, frame cache)
# may differ on resume
_OUTPUT_SETTINGS = tuple(k for k in DEFAULT_SETTINGS
                         if k not in ('batch_size', 'io_threads', 'frame_cache_mb'))

_WORKER: Optional[ClipProcessor] = None
_WORKER_ERROR: Optional[BaseException] = None  # why _init_worker failed, if it did
_WORKER_DEVICE: Optional[str] = None  # the device of this worker's models (devices= runs)


def shard_path(out_root: str, source: ClipSource) -> str:
    return osp.join(out_root, '.shards', source.identity, source.video, source.clip + '.json')


def _run_signature(settings: dict, models: dict) -> dict:
    return dict(settings={k: settings[k] for k in _OUTPUT_SETTINGS}, models=models)


# settings added after folders were prepared without them: the value that does what those
# folders' runs did (an older settings.json lacks the key)
_ADDED_SETTINGS = dict(landmarks_on_crop=False, mirrored_landmarks=False)


def _check_signature(out_root: str, signature: dict) -> None:
    """Refuse to resume an output folder made with other settings. A folder prepared before a
    setting of ``_ADDED_SETTINGS`` existed resumes with that setting at its old behaviour."""
    path = osp.join(out_root, '.shards', 'settings.json')
    if not osp.isfile(path):
        return
    old = read_json(path)
    old = dict(old, settings={**_ADDED_SETTINGS, **old.get('settings', {})})
    diff = sorted({kk for k in ('settings', 'models')
                   for kk in set(old.get(k, {})) | set(signature[k])
                   if old.get(k, {}).get(kk) != signature[k].get(kk)})
    if not diff:
        return
    hint = ' '.join(f'preparation.{k}={old["settings"][k]!r}' for k in diff
                    if k in signature['settings'] and k in old['settings'])
    hint = f' (--cfg-options {hint})' if hint else ''
    raise UserError(
        f'{out_root}: was prepared with other settings ({", ".join(diff)} differ; see {path}); '
        f'resume with the same settings{hint} or use a new output folder')


def _init_worker(settings: dict, models: dict, threads: int, devices=None) -> None:
    global _WORKER, _WORKER_ERROR, _WORKER_DEVICE
    try:
        import cv2
        import torch
        cv2.setNumThreads(threads)
        torch.set_num_threads(threads)
        models = copy.deepcopy(models)
        if devices is not None:  # one device per worker, handed out by the parent
            _WORKER_DEVICE = devices.get(timeout=60)
            set_models_device(models, _WORKER_DEVICE)
        _WORKER = ClipProcessor(settings, **models)
    except BaseException as e:  # noqa: BLE001  (handed to the first task: see _work)
        # an initializer that raises kills its worker, and the pool starts another that
        # fails the same way: keep the error and fail the tasks instead, so the run stops
        _WORKER_ERROR = e


def _process_and_store(processor: ClipProcessor, source: ClipSource, out_root: str,
                       signature: dict) -> dict:
    """Process one clip and write its shard; returns the shard without its entries.

    An unexpected error in one clip (a bug, a frame a library chokes on) is recorded as
    that clip's failure and the run goes on (``HEADSWAP_DEBUG=1`` raises it instead).
    """
    try:
        shard = processor.process(source, out_root)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001
        if os.environ.get('HEADSWAP_DEBUG'):
            raise
        shard = dict(identity=source.identity, video=source.video, clip=source.clip,
                     source=source.display, status='failed',
                     reason=f'unexpected {type(e).__name__}: {e}', decoded=0,
                     dropped={r: 0 for r in DROP_REASONS}, seconds=0.0, data_list=[])
    settings_file = osp.join(out_root, '.shards', 'settings.json')
    if not osp.isfile(settings_file):
        atomic_write_json(settings_file, signature)
    path = shard_path(out_root, source)
    remove_stale_tmp(osp.dirname(path))
    atomic_write_json(path, shard)
    return {k: v for k, v in shard.items() if k != 'data_list'} | dict(kept=len(shard['data_list']))


def _work(args) -> dict:
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    return dict(_process_and_store(_WORKER, *args), device=_WORKER_DEVICE)


def _run_pool(todo: List[ClipSource], workers: int, settings: dict, models: dict,
              out_root: str, signature: dict, report,
              devices: Optional[Sequence[str]] = None) -> None:
    """The clips of ``todo`` in ``workers`` spawned processes (worker ``i`` on
    ``devices[i % len(devices)]`` when given); the first failure (a model that cannot load,
    a worker that dies) stops the pool and is raised, naming the cause."""
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = mp.get_context('spawn')
    queue = None
    if devices:
        queue = ctx.Queue()
        for i in range(workers):
            queue.put(devices[i % len(devices)])
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(settings, models, threads, queue))
    futures = {pool.submit(_work, (s, out_root, signature)): s for s in todo}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                try:
                    report(fut.result())
                except BrokenProcessPool:
                    raise UserError(f'{futures[fut].display}: a preparation worker died '
                                    '(out of memory, or a crash in a native library); '
                                    '--workers 0 runs it in this process') from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def set_models_device(models: dict, device: str) -> None:
    """Run every torch model among the component configs ``models`` on ``device``."""
    for cfg in models.values():
        if isinstance(cfg, dict) and 'device' in (constructor_args(cfg.get('type')) or ()):
            cfg['device'] = device


def _model_name(cfg) -> str:
    return cfg.get('type', '?') if isinstance(cfg, dict) else type(cfg).__name__


def _parser_name(cfg) -> str:
    """The parser's ``name`` (what made the maps), without building it."""
    if not isinstance(cfg, dict):
        return getattr(cfg, 'name', type(cfg).__name__)
    import headswap.face.providers  # noqa: F401
    from headswap.registry import MODELS
    cls = MODELS.get(cfg['type'])
    return getattr(cls, 'name', cfg['type']) if cls is not None else cfg['type']


def prepare_dataset(input_root: str, out_root: str, settings: Optional[dict] = None,
                    detector: Optional[dict] = None, landmarker: Optional[dict] = None,
                    parser: Optional[dict] = None, workers: int = 0, retry_failed: bool = False,
                    progress: bool = True, clip_filter: Optional[str] = None,
                    devices: Optional[Sequence[str]] = None) -> dict:
    """Prepare (or resume preparing) ``out_root`` from the videos/images under ``input_root``.

    Args:
        input_root: Folder of videos / images (layouts in :mod:`.sources`).
        out_root: Output folder (``index.json``, ``frames/``, ``parsing/``).
        settings: Overrides of :data:`DEFAULT_SETTINGS`.
        detector, landmarker, parser: Component configs (registry ``MODELS``).
        workers: Worker processes; 0 runs everything in this process.
        retry_failed: Process clips again whose shard records a failure.
        progress: Show a progress bar.
        clip_filter: Only process clips whose ``identity/video/clip`` contains this
            string (the index still lists every finished clip).
        devices: Devices of the torch models, one per worker, round robin (e.g. every GPU
            of a node: ``['cuda:0', 'cuda:1']``); at least one worker per device. Clips go to
            whichever worker is free. The summary counts the clips done on each.

    Returns:
        The summary (see :func:`format_summary`).
    """
    t0 = time.perf_counter()
    if devices:
        workers = max(workers, len(devices))
    check_settings(settings or {})  # before anything is started or written
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    models = dict(detector=detector or dict(type='YuNetFaceDetector'),
                  landmarker=landmarker or dict(type='MediaPipeFaceMeshLandmarker'),
                  parser=parser or dict(type='LandmarkFaceParser'))
    try:
        sources, ignored = discover_sources(input_root)
    except SourceError as e:
        raise UserError(str(e)) from None
    if not sources:
        raise UserError(f'{input_root}: no videos ({", ".join(("mp4", "avi", "mov", "mkv"))}, '
                        '...) or images found')
    os.makedirs(out_root, exist_ok=True)
    remove_stale_tmp(out_root)
    signature = _run_signature(settings, {k: copy.deepcopy(v) for k, v in models.items()})
    # written just before the first shard, so a run that fails to start leaves no trace
    _check_signature(out_root, signature)
    for path in ignored:
        logger.warning('%s: ignored (not a video or image file)', path)

    todo: List[ClipSource] = []
    for src in sources:
        if clip_filter and clip_filter not in '/'.join(src.key):
            continue
        path = shard_path(out_root, src)
        if osp.isfile(path):
            if retry_failed and read_json(path).get('status') == 'failed':
                todo.append(src)
            continue
        todo.append(src)

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit='clip', desc='preparing', dynamic_ncols=True)
    results = []
    decoded_now = 0

    def report(r: dict) -> None:
        nonlocal decoded_now
        results.append(r)
        decoded_now += r['decoded']
        if r['status'] == 'failed':
            logger.warning('%s: skipped, %s', r['source'], r['reason'])
        if bar is not None:
            bar.update(1)
            bar.set_postfix(frames=decoded_now,
                            fps=f'{decoded_now / max(time.perf_counter() - t0, 1e-6):.1f}')

    try:
        if workers > 0 and todo:
            _run_pool(todo, workers, settings, models, out_root, signature, report, devices)
        elif todo:
            processor = ClipProcessor(settings, **copy.deepcopy(models))
            for src in todo:
                report(_process_and_store(processor, src, out_root, signature))
    finally:
        if bar is not None:
            bar.close()

    index = merge_index(out_root, sources, settings, models)
    elapsed = time.perf_counter() - t0
    relax = {r: relax_option(r, settings, models['detector'] if isinstance(
        models['detector'], dict) else None) for r in DROP_REASONS}
    summary = _summarise(out_root, sources, results, index, ignored, elapsed, relax)
    if devices:
        summary['clips_per_device'] = dict(sorted(Counter(r.get('device') for r in results)
                                                  .items()))
        atomic_write_json(osp.join(out_root, 'summary.json'), summary)
    return summary


def merge_index(out_root: str, sources: List[ClipSource], settings: dict, models: dict) -> dict:
    """Write ``index.json`` from the shards of ``sources`` (sorted, deterministic)."""
    from headswap import __version__
    from headswap.structures.face_labels import PARSING_CLASSES
    data_list = []
    for src in sorted(sources, key=lambda s: s.key):
        path = shard_path(out_root, src)
        if not osp.isfile(path):
            continue
        shard = read_json(path)
        for e in shard['data_list']:
            data_list.append(dict(identity=src.identity, video=src.video, clip=src.clip, **e))
    metainfo = dict(
        dataset_type='talking_heads', version=INDEX_VERSION, resolution=settings['size'],
        crop_scale=settings['crop_scale'], landmark_format='ibug68', num_landmarks=68,
        parsing_classes=list(PARSING_CLASSES), created_by=f'headswap {__version__}',
        detector=_model_name(models['detector']), landmarker=_model_name(models['landmarker']),
        parser=_parser_name(models['parser']),
        preparation={k: settings[k] for k in _OUTPUT_SETTINGS})
    index = dict(metainfo=metainfo, data_list=data_list)
    atomic_write_json(osp.join(out_root, 'index.json'), index)
    return index


def _summarise(out_root: str, sources: List[ClipSource], results: List[dict], index: dict,
               ignored: List[str], elapsed: float, relax: Dict[str, str]) -> dict:
    dropped: Dict[str, int] = {r: 0 for r in DROP_REASONS}
    failed, decoded, resumed = [], 0, 0
    done_now = {(r['identity'], r['video'], r['clip']) for r in results}
    for src in sources:
        path = shard_path(out_root, src)
        if not osp.isfile(path):
            continue
        shard = read_json(path)
        resumed += src.key not in done_now
        decoded += shard['decoded']
        for k, v in shard['dropped'].items():
            dropped[k] = dropped.get(k, 0) + v
        if shard['status'] == 'failed':
            failed.append((shard['source'], shard['reason']))
    decoded_now = sum(r['decoded'] for r in results)
    model_seconds = sum(r['seconds'] for r in results)
    summary = dict(
        clips=len(sources), clips_processed=len(results), clips_resumed=resumed,
        clips_failed=failed, ignored_files=ignored, frames_decoded=decoded,
        frames_kept=len(index['data_list']), frames_dropped=dropped,
        identities=len({e['identity'] for e in index['data_list']}),
        frames_decoded_this_run=decoded_now, seconds=round(elapsed, 2),
        clip_seconds=round(model_seconds, 2),
        fps=round(decoded_now / elapsed, 2) if elapsed > 0 else 0.0, relax=relax)
    atomic_write_json(osp.join(out_root, 'summary.json'), summary)
    return summary


def drop_advice(summary: dict) -> List[str]:
    """When the filters dropped more than half of the decoded frames: which filter dropped how
    many, and the option (``--cfg-options``) that relaxes it; no lines otherwise."""
    decoded, dropped = summary['frames_decoded'], summary['frames_dropped']
    if not decoded or 2 * sum(dropped.values()) <= decoded:
        return []
    lines = [f'warning: the filters dropped {sum(dropped.values())} of {decoded} decoded frames '
             f'({summary["frames_kept"]} kept); to keep more, relax the filter with '
             '--cfg-options:']
    for reason, n in sorted(dropped.items(), key=lambda kv: -kv[1]):
        if n:
            what = RELAXED_BY.get(reason, (reason,))[0]
            option = summary.get('relax', {}).get(reason, RELAXED_BY.get(reason, ('', '?'))[1])
            lines.append(f'  {reason}: {n} frames ({what}): e.g. {option}')
    return lines


def format_summary(summary: dict) -> str:
    """A human-readable report of :func:`prepare_dataset`'s summary."""
    lines = [
        f'clips: {summary["clips"]} ({summary["clips_processed"]} processed now, '
        f'{summary["clips_resumed"]} already done, {len(summary["clips_failed"])} failed)',
        f'frames: {summary["frames_decoded"]} decoded, {summary["frames_kept"]} kept '
        f'({summary["identities"]} identities)',
        'dropped: ' + (', '.join(f'{k} {v}' for k, v in summary['frames_dropped'].items())
                       or 'none'),
    ]
    lines += drop_advice(summary)
    for path, reason in summary['clips_failed']:
        lines.append(f'  failed: {path}: {reason}')
    if summary['ignored_files']:
        lines.append(f'ignored files (not video/image): {len(summary["ignored_files"])}')
    if summary.get('clips_per_device'):
        lines.append('clips per device: ' + ', '.join(
            f'{d} {n}' for d, n in summary['clips_per_device'].items()))
    lines.append(f'throughput: {summary["fps"]:.2f} frames/s '
                 f'({summary["frames_decoded_this_run"]} frames decoded in '
                 f'{summary["seconds"]:.1f} s, this run)')
    return '\n'.join(lines)
