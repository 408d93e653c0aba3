"""The ``varlen`` label-attention backend: one fused attention call over label segments.

Pixels of every sample are sorted by ``(sample, label)``; each pair becomes one segment of
a jagged (nested) tensor, queries and keys with their own lengths, and torch's
``scaled_dot_product_attention`` runs once over all of them: on CUDA its variable-length
flash or memory-efficient kernels (scores accumulated in float32 inside the kernel, linear
memory, a backward of their own, nothing compiled, so no warm-up), on CPU the math path
(quadratic in a segment's length, float32 scores: for tests). A query whose label is -1,
or has no key in its sample, falls into a last "dump" segment whose output is replaced by
0; the dump's keys get one zero row so that its softmax is never empty (no NaN in its
backward either).

One host sync per call: torch reads the longest segment to size the kernels.
"""
import torch
import torch.nn.functional as F

__all__ = ['varlen_label_attention']


def _segment_ids(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """``(B * N,)`` segment of each pixel: ``b * L + label``, or ``B * L`` (the dump)."""
    batch = labels.shape[0]
    sample = torch.arange(batch, device=labels.device)[:, None]
    ids = torch.where(labels >= 0, sample * num_labels + labels,
                      torch.full_like(labels, batch * num_labels))
    return ids.flatten()


def _sorted_offsets(ids: torch.Tensor, segments: int, extra_last: int = 0):
    """Stable order of ``ids`` and the jagged offsets ``(segments + 1,)`` of its runs."""
    order = torch.sort(ids, stable=True).indices
    counts = torch.bincount(ids, minlength=segments)
    if extra_last:
        counts = counts + F.pad(counts.new_full((1, ), extra_last), (segments - 1, 0))
    return order, F.pad(torch.cumsum(counts, 0), (1, 0))


def _jagged(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """``(S, j, 1, D)`` jagged ``(total, D)`` values -> SDPA's ``(S, 1, j, D)`` layout."""
    nt = torch.nested.nested_tensor_from_jagged(values, offsets)
    return nt.unsqueeze(2).transpose(1, 2)


def varlen_label_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                           q_labels: torch.Tensor, k_labels: torch.Tensor, scale: float,
                           num_labels: int) -> torch.Tensor:
    """``label_attention`` with ``backend='varlen'`` (same arguments, checked there).

    Returns ``(B, Nq, Cv)`` in float32 (float64 for float64 inputs). On CUDA, half
    precision inputs enter the kernels as they are (scores in float32 inside them); on
    CPU they are cast to float32 first.
    """
    batch, nq, c = q.shape
    nk, cv = k.shape[1], v.shape[2]
    acc = torch.promote_types(q.dtype, torch.float32)
    if not q.is_cuda:  # the math path keeps the scores in its inputs' dtype
        q, k = q.to(acc), k.to(acc)
    dump = batch * num_labels
    k_ids = _segment_ids(k_labels, num_labels)
    has_keys = torch.bincount(k_ids, minlength=dump + 1)[:dump] > 0
    q_ids = _segment_ids(q_labels, num_labels)
    q_ids = torch.where(has_keys[q_ids.clamp(max=dump - 1)] & (q_ids < dump), q_ids,
                        torch.full_like(q_ids, dump))
    q_order, q_offsets = _sorted_offsets(q_ids, dump + 1)
    k_order, k_offsets = _sorted_offsets(k_ids, dump + 1, extra_last=1)
    # one head dim for q, k and v (the flash kernels want it), a multiple of 8; zero columns
    # of q and k do not change the scores
    dim = -(-max(c, cv) // 8) * 8
    qs = F.pad(q.reshape(batch * nq, c)[q_order], (0, dim - c))
    ks = F.pad(k.reshape(batch * nk, c)[k_order], (0, dim - c, 0, 1))  # + the dump's zero key
    vs = F.pad(v.reshape(batch * nk, cv)[k_order].to(q.dtype), (0, dim - cv, 0, 1))
    out = F.scaled_dot_product_attention(_jagged(qs, q_offsets), _jagged(ks, k_offsets),
                                         _jagged(vs, k_offsets), scale=scale)
    out = out.transpose(1, 2).squeeze(2).values()[:, :cv].to(acc)  # (B * Nq, Cv), sorted
    out = torch.where((q_ids[q_order] < dump)[:, None], out, torch.zeros_like(out))
    inverse = torch.empty_like(q_order)
    inverse[q_order] = torch.arange(q_order.numel(), device=q_order.device)
    return out[inverse].view(batch, nq, cv)
