"""The ``varlen`` label-attention backend: one fused attention call over label segments.

Pixels of every sample are sorted by ``(sample, label)``; each pair becomes one segment of
a jagged (nested) tensor, queries and keys with their own lengths, and torch's
``scaled_dot_product_attention`` runs once over all of them: on CUDA its variable-length
flash or memory-efficient kernels (scores accumulated in float32 inside the kernel, linear
memory, a backward of their own, nothing compiled, so no warm-up), on CPU the math path
(quadratic in a segment's length, float32 scores: for tests).

torch's fused kernels refuse a jagged tensor with an empty segment (it would run the math
path, quadratic in memory), so only (sample, label) pairs with both queries and keys
become segments; every other pixel goes to a last "dump" segment, which gets one zero
query and one zero key of its own (never empty, its softmax never empty: no NaN in its
backward either) and whose outputs are replaced by 0. A query whose label is -1, or has
no key in its sample, gets 0 that way; a key of label -1 is never attended.

Two host syncs per call: the number of segments, then the longest ones (the kernels' sizes).
"""
import torch
import torch.nn.functional as F

__all__ = ['varlen_label_attention']


def _segment_ids(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """``(B * N,)`` (sample, label) pair of each pixel: ``b * L + label``; -1 -> ``B * L``."""
    batch = labels.shape[0]
    sample = torch.arange(batch, device=labels.device)[:, None]
    ids = torch.where(labels >= 0, sample * num_labels + labels,
                      torch.full_like(labels, batch * num_labels))
    return ids.flatten()


def _order_and_offsets(ids: torch.Tensor, segments: int):
    """Stable order of ``ids`` (in ``[0, segments)``) and the jagged offsets
    ``(segments + 1,)`` of its runs, the last run one longer (the dump's zero row)."""
    order = torch.sort(ids, stable=True).indices
    counts = torch.bincount(ids, minlength=segments)
    counts = counts + F.one_hot(counts.new_tensor(segments - 1), segments)
    return order, F.pad(torch.cumsum(counts, 0), (1, 0))


def plan_segments(q_labels: torch.Tensor, k_labels: torch.Tensor, num_labels: int):
    """Where each query and key goes: ``(q_order, q_offsets, k_order, k_offsets, q_kept)``.

    ``*_order`` sorts the flattened ``(B * N)`` pixels by segment, ``*_offsets`` (one per
    segment + 1, counting the dump's zero row) cut the sorted pixels into segments, no
    segment empty; ``q_kept`` (sorted like the queries) says which queries attend (False:
    the dump).
    """
    pairs = q_labels.shape[0] * num_labels
    q_ids, k_ids = _segment_ids(q_labels, num_labels), _segment_ids(k_labels, num_labels)
    both = (torch.bincount(q_ids, minlength=pairs + 1)[:pairs] > 0) & \
        (torch.bincount(k_ids, minlength=pairs + 1)[:pairs] > 0)
    kept = int(both.sum())  # host sync: the number of segments sizes the jagged tensors
    segment = torch.where(both, torch.cumsum(both, 0) - 1, torch.full_like(q_ids[:1], kept))
    segment = F.pad(segment, (0, 1), value=kept)  # -1 pixels -> the dump
    q_seg, k_seg = segment[q_ids], segment[k_ids]
    q_order, q_offsets = _order_and_offsets(q_seg, kept + 1)
    k_order, k_offsets = _order_and_offsets(k_seg, kept + 1)
    return q_order, q_offsets, k_order, k_offsets, q_seg[q_order] < kept


def _jagged(values: torch.Tensor, offsets: torch.Tensor, longest: int) -> torch.Tensor:
    """``(total, D)`` values cut at ``offsets`` (no segment empty, the longest given, so
    torch need not read them) -> SDPA's ``(S, 1, j, D)`` layout."""
    nt = torch.nested.nested_tensor_from_jagged(values, offsets, min_seqlen=1,
                                                max_seqlen=longest)
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
    q_order, q_offsets, k_order, k_offsets, q_kept = plan_segments(q_labels, k_labels,
                                                                   num_labels)
    # one head dim for q, k and v (the flash kernels want it), a multiple of 8 (zero
    # columns of q and k do not change the scores); + the dump's zero row at the end
    dim = -(-max(c, cv) // 8) * 8
    qs = F.pad(q.reshape(batch * nq, c)[q_order], (0, dim - c, 0, 1))
    ks = F.pad(k.reshape(batch * nk, c)[k_order], (0, dim - c, 0, 1))
    vs = F.pad(v.reshape(batch * nk, cv)[k_order].to(q.dtype), (0, dim - cv, 0, 1))
    longest_q, longest_k = torch.stack([q_offsets.diff().max(),
                                        k_offsets.diff().max()]).tolist()  # host sync
    out = F.scaled_dot_product_attention(
        _jagged(qs, q_offsets, longest_q), _jagged(ks, k_offsets, longest_k),
        _jagged(vs, k_offsets, longest_k), scale=scale)
    out = out.transpose(1, 2).squeeze(2).values()[:-1, :cv].to(acc)  # sorted queries
    out = torch.where(q_kept[:, None], out, torch.zeros_like(out))
    inverse = torch.empty_like(q_order)
    inverse[q_order] = torch.arange(q_order.numel(), device=q_order.device)
    return out[inverse].view(batch, nq, cv)
