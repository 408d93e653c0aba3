"""The ``varlen`` label-attention backend: one fused attention call over label segments.

Pixels of every sample are sorted by ``(sample, label)``; each pair becomes one segment of
a jagged (nested) tensor, queries and keys with their own lengths, and torch's
``scaled_dot_product_attention`` runs once over all of them: on CUDA its variable-length
flash or memory-efficient kernels (scores accumulated in float32 inside the kernel, linear
memory, a backward of their own, nothing compiled, so no warm-up), on CPU the math path
(quadratic in a segment's length, float32 scores: for tests).

torch's fused kernels refuse a jagged tensor with an empty segment (it would run the math
path, quadratic in memory), so only (sample, label) pairs with both queries and keys become
segments, plus a last one made of a zero query and a zero key (never empty: the jagged
tensors' lengths need not change with the data's). Every other query (label -1, or no key
of its label in its sample) gets 0 and takes no part; neither do keys of label -1 or of a
label no query of their sample has.

One host sync per call: the number of segments, of the pixels in them and the longest.
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


def _count(ids: torch.Tensor, size: int) -> torch.Tensor:
    """``bincount`` with a known length (no device sync to find it)."""
    return torch.zeros(size, dtype=torch.long, device=ids.device).scatter_add_(
        0, ids, torch.ones_like(ids))


def plan_segments(q_labels: torch.Tensor, k_labels: torch.Tensor, num_labels: int):
    """Which pixels attend, in segment order: ``(q_index, q_offsets, k_index, k_offsets,
    longest_q, longest_k)``.

    ``*_index``: positions in the flattened ``(B * N)`` pixels of the queries (keys) that
    take part, sorted by (sample, label); ``*_offsets``: where each segment starts in them,
    plus one last segment of one row (the zero query / key appended after them) and the
    end; ``longest_*``: the longest segment (host ints). No segment is empty.
    """
    pairs = q_labels.shape[0] * num_labels
    q_ids, k_ids = _segment_ids(q_labels, num_labels), _segment_ids(k_labels, num_labels)
    q_counts, k_counts = _count(q_ids, pairs + 1)[:pairs], _count(k_ids, pairs + 1)[:pairs]
    both = (q_counts > 0) & (k_counts > 0)
    stats = torch.stack([both.sum(), (q_counts * both).sum(), (k_counts * both).sum(),
                         (q_counts * both).max(), (k_counts * both).max()])
    kept, n_q, n_k, longest_q, longest_k = stats.tolist()  # the one host sync
    segment = torch.where(both, torch.cumsum(both, 0) - 1, torch.full_like(q_counts, kept))
    segment = F.pad(segment, (0, 1), value=kept)  # -1 pixels: with the rest, left out

    def order(ids: torch.Tensor, taking_part: int):
        seg = segment[ids]
        index = torch.sort(seg, stable=True).indices[:taking_part]  # the rest sort last
        counts = _count(seg, kept + 1)
        counts[kept] = 1  # the last segment: the zero row alone
        return index, F.pad(torch.cumsum(counts, 0), (1, 0))

    q_index, q_offsets = order(q_ids, n_q)
    k_index, k_offsets = order(k_ids, n_k)
    return q_index, q_offsets, k_index, k_offsets, max(longest_q, 1), max(longest_k, 1)


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
    q_index, q_offsets, k_index, k_offsets, longest_q, longest_k = plan_segments(
        q_labels, k_labels, num_labels)
    # one head dim for q, k and v (the flash kernels want it), a multiple of 8 (zero
    # columns of q and k do not change the scores); + the last segment's zero row
    dim = -(-max(c, cv) // 8) * 8
    qs = F.pad(q.reshape(batch * nq, c)[q_index], (0, dim - c, 0, 1))
    ks = F.pad(k.reshape(batch * nk, c)[k_index], (0, dim - c, 0, 1))
    vs = F.pad(v.reshape(batch * nk, cv)[k_index].to(q.dtype), (0, dim - cv, 0, 1))
    out = F.scaled_dot_product_attention(
        _jagged(qs, q_offsets, longest_q), _jagged(ks, k_offsets, longest_k),
        _jagged(vs, k_offsets, longest_k), scale=scale)
    out = out.transpose(1, 2).squeeze(2).values()[:-1, :cv].to(acc)  # the attending queries
    return out.new_zeros(batch * nq, cv).index_copy(0, q_index, out).view(batch, nq, cv)
