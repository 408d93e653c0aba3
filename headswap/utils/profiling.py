"""Summaries of ``torch.profiler`` runs for the benchmark scripts (``tools/analysis_tools``).

What bounds a step on a GPU: the GPU's own work (kernel time), the host's (operators,
kernel launches) or the host waiting for the GPU (syncs: ``.item()``, device->host copies,
``torch.cuda.synchronize``). :func:`profile_summary` counts each per unit of work (a frame,
an iteration); :func:`write_profile_tables` writes the top operators by host and GPU time.
"""
from typing import Dict, Sequence, Tuple

__all__ = ['profile_summary', 'profile_table', 'write_profile_tables']

# host-side work that decides whether a GPU stage is launch-bound
LAUNCHES = ('cudaLaunchKernel', 'cuLaunchKernel', 'cudaLaunchKernelExC', 'cudaGraphLaunch')
SYNCS = ('cudaStreamSynchronize', 'cudaDeviceSynchronize', 'cudaEventSynchronize')
COPIES = ('cudaMemcpyAsync', 'cudaMemcpy')
CASTS = ('aten::_to_copy', )


def profile_summary(prof, units: int) -> Dict[str, float]:
    """Per unit of work (``units`` of them in the profiled span): aten ``operators`` and
    their host ms, CUDA ``launches`` (graph launches included), dtype ``casts``, host
    ``syncs`` and the host ms spent in them (``sync_wait_ms``: the host waiting for the
    GPU), memory ``copies`` and their host ms, ``graph_launches``, and ``gpu_kernel_ms``
    (summed kernel time; 0 without CUDA)."""
    events = prof.key_averages()
    units = max(1, units)

    def count(names) -> float:
        return sum(e.count for e in events if e.key in names) / units

    def host_ms(names) -> float:
        return sum(e.self_cpu_time_total for e in events if e.key in names) / 1000 / units

    aten = [e for e in events if e.key.startswith('aten::')]
    kernels = [e for e in prof.events() if getattr(e.device_type, 'name', '') == 'CUDA']
    return dict(
        operators=round(sum(e.count for e in aten) / units, 1),
        operator_cpu_ms=round(sum(e.self_cpu_time_total for e in aten) / 1000 / units, 2),
        launches=round(count(LAUNCHES), 1), graph_launches=round(count(('cudaGraphLaunch', )), 1),
        casts=round(count(CASTS), 1), syncs=round(count(SYNCS), 2),
        sync_wait_ms=round(host_ms(SYNCS), 2), copies=round(count(COPIES), 1),
        copy_ms=round(host_ms(COPIES), 2),
        gpu_kernel_ms=round(sum(e.time_range.elapsed_us() for e in kernels) / 1000 / units, 2))


def write_profile_tables(prof, path: str, header: str, row_limit: int = 30) -> None:
    """``header``, then the top operators by host time and, with CUDA, by GPU time."""
    events = prof.key_averages()
    with open(path, 'w') as f:
        f.write(header.rstrip('\n') + '\n\n')
        f.write(events.table(sort_by='self_cpu_time_total', row_limit=row_limit) + '\n')
        if any(getattr(e.device_type, 'name', '') == 'CUDA' for e in prof.events()):
            f.write(events.table(sort_by='self_cuda_time_total', row_limit=row_limit) + '\n')


COLUMNS = (('operators', 'aten operators'), ('operator_cpu_ms', 'their host ms'),
           ('launches', 'kernel launches'), ('graph_launches', 'graph launches'),
           ('casts', 'casts'), ('syncs', 'host syncs'), ('sync_wait_ms', 'host ms waiting'),
           ('copies', 'copies'), ('gpu_kernel_ms', 'GPU kernel ms'))


def profile_table(labels: Sequence[str], rows: Sequence[Tuple[Sequence[str], dict]],
                  unit: str) -> str:
    """A markdown table of :func:`profile_summary` results: ``labels`` name the first
    columns, each row is (its label cells, its summary); ``unit``: 'frame', 'iteration'."""
    head = list(labels) + [title for _, title in COLUMNS]
    lines = ['| ' + ' | '.join(head) + f' |  (per {unit}, torch.profiler)',
             '|' + ' --- |' * len(head)]
    for cells, summary in rows:
        lines.append('| ' + ' | '.join([*map(str, cells), *(str(summary.get(k, '-'))
                                                            for k, _ in COLUMNS)]) + ' |')
    return '\n'.join(lines)
