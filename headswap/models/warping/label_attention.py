"""Label-restricted attention: the correlation core of semantic-guided exemplar warping.

For a query pixel ``u`` of label ``l`` (supplement eq. 8 and section 5)::

    out[b, u] = sum_{v : k_labels[b, v] == l} softmax_v(scale * <q[b, u], k[b, v]>) * v[b, v]

Pairs of different labels are never attended. A query whose label is -1, or whose
label has no key in the same sample, gets 0 (callers substitute a fallback, see
:func:`resolve_query_labels`); a key of label -1 is never attended.

Backends (same result, different cost; B batch, N pixels, C channels):

``dense``
    All pairs, other labels masked out: ``O(B N^2)`` memory. Reference and baseline.
``perlabel``
    Pixels sorted by label once; one ``(B, n_q^l, n_k^l)`` block per label
    (padded to the largest sample of the batch), batched over the batch.
    Memory ``O(B max_l n_q^l n_k^l)``: smaller than dense, still quadratic.
``blocked``
    ``perlabel`` cut into query chunks of at most ``chunk_elems`` scores, with a
    hand-written backward that recomputes the scores chunk by chunk from the
    saved log-sum-exp (as flash attention does). Memory ``O(B N C + chunk_elems)``:
    linear in the number of pixels, portable (CPU and CUDA), exact.
``flex``
    torch's FlexAttention on label-sorted pixels with a label block mask.
    Compiled on CUDA (linear memory, fused kernel); on CPU only the eager forward
    exists (quadratic memory, no backward) - it is there for agreement tests.
``varlen``
    One jagged ``scaled_dot_product_attention`` call over (sample, label) segments
    (:mod:`.varlen_attention`): torch's variable-length kernels on CUDA, nothing
    compiled; on CPU its math path (quadratic per segment, with a backward).
``auto``
    ``varlen`` on CUDA (the fastest exact backend measured in a training step on an
    H100), ``blocked`` elsewhere (``varlen``'s CPU path is quadratic): chosen per call
    from the inputs' device (:func:`resolve_backend`).

Scores are accumulated and kept in float32 whatever the input dtype: with the
usual temperature (``scale = 100``) a bfloat16 score would be off by up to 0.4
before the softmax. This file imports only torch, so
``tools/analysis_tools/benchmark_warping.py`` can load it (and its sibling
``varlen_attention.py``) alone.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch

try:
    from .varlen_attention import varlen_label_attention
except ImportError:  # this file loaded alone by path: benchmark_warping.py loads its sibling
    from varlen_attention import varlen_label_attention

__all__ = ['BACKENDS', 'label_attention', 'resolve_backend', 'resolve_query_labels',
           'label_presence']

BACKENDS = ('dense', 'perlabel', 'blocked', 'flex', 'varlen', 'auto')


def resolve_backend(backend: str, device: torch.device) -> str:
    """The backend that runs for ``backend`` on ``device``: ``'auto'`` is ``'varlen'`` on
    CUDA and ``'blocked'`` elsewhere; any other name is itself."""
    if backend != 'auto':
        return backend
    return 'varlen' if torch.device(device).type == 'cuda' else 'blocked'


def _check(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_labels: torch.Tensor,
           k_labels: torch.Tensor) -> None:
    if q.dim() != 3 or k.dim() != 3 or v.dim() != 3:
        raise ValueError(f'q, k, v must be (B, N, C); got {tuple(q.shape)}, {tuple(k.shape)}, '
                         f'{tuple(v.shape)}')
    if q.shape[0] != k.shape[0] or k.shape[:2] != v.shape[:2] or q.shape[2] != k.shape[2]:
        raise ValueError(f'incompatible q {tuple(q.shape)}, k {tuple(k.shape)}, '
                         f'v {tuple(v.shape)}')
    if q_labels.shape != q.shape[:2] or k_labels.shape != k.shape[:2]:
        raise ValueError(f'labels must be (B, N): q_labels {tuple(q_labels.shape)} for q '
                         f'{tuple(q.shape)}, k_labels {tuple(k_labels.shape)} for k '
                         f'{tuple(k.shape)}')


_OUT_DTYPE_OK = {'cuda': True}  # set to False the first time torch refuses ``out_dtype``


def _out_dtype_supported(q: torch.Tensor) -> bool:
    """Whether ``torch.bmm(..., out_dtype=torch.float32)`` is used for these operands."""
    return q.is_cuda and q.dtype in (torch.float16, torch.bfloat16) and _OUT_DTYPE_OK['cuda']


def _acc(x: torch.Tensor) -> torch.dtype:
    """Accumulation dtype: float32, or float64 for float64 inputs (gradcheck)."""
    return torch.promote_types(x.dtype, torch.float32)


def _score_operand(x: torch.Tensor) -> torch.Tensor:
    """``x`` as it enters :func:`_scores`: full precision unless a float32-output matmul exists."""
    return x if x.dtype == _acc(x) or _out_dtype_supported(x) else x.float()


def _scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``q @ k^T`` in float32, ``(B, M, C) x (B, W, C) -> (B, M, W)``, without autograd.

    Half-precision operands (see :func:`_score_operand`) are multiplied on tensor
    cores with float32 accumulation and output.
    """
    if q.dtype == _acc(q) and k.dtype == _acc(k):
        return torch.bmm(q, k.transpose(1, 2))
    if _out_dtype_supported(q):
        try:
            return torch.bmm(q, k.transpose(1, 2), out_dtype=torch.float32)
        except (TypeError, RuntimeError, NotImplementedError):  # older torch
            _OUT_DTYPE_OK['cuda'] = False
    return torch.bmm(q.float(), k.float().transpose(1, 2))


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim restricted to ``mask``; rows without any True are 0."""
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return scores.softmax(-1) * mask


def _dense(q, k, v, q_labels, k_labels, scale):
    acc = _acc(q)
    scores = torch.matmul(q.to(acc), k.to(acc).transpose(1, 2)) * scale
    mask = (q_labels[:, :, None] == k_labels[:, None, :]) & (q_labels[:, :, None] >= 0)
    return torch.matmul(_masked_softmax(scores, mask), v.to(acc))


class _Segments:
    """Pixels of each sample sorted by label: where each label's run starts and its length."""

    def __init__(self, labels: torch.Tensor, num_labels: int):
        batch, n = labels.shape
        key = torch.where(labels < 0, torch.full_like(labels, num_labels), labels)
        self.perm = torch.sort(key, dim=1, stable=True).indices  # (B, N)
        counts = torch.zeros(batch, num_labels + 1, dtype=torch.long, device=labels.device)
        counts.scatter_add_(1, key, torch.ones_like(key))
        self.counts = counts[:, :num_labels]  # (B, L)
        self.starts = torch.cumsum(counts, 1)[:, :num_labels] - self.counts
        self.n = n

    def window(self, label: int, length: int, offset: int = 0
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pixel indices ``(B, length)`` of ``label``'s run from ``offset``, their validity,
        and scatter targets (invalid ones point at the dump row ``N``)."""
        pos = torch.arange(offset, offset + length, device=self.perm.device)
        valid = pos[None] < self.counts[:, label:label + 1]
        gather_pos = (self.starts[:, label:label + 1] + pos[None]).clamp(max=self.n - 1)
        idx = self.perm.gather(1, gather_pos)
        dest = torch.where(valid, idx, torch.full_like(idx, self.n))
        return idx, valid, dest


def _gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[b, idx[b, i]]`` for ``x`` (B, N, C) and ``idx`` (B, M) -> (B, M, C)."""
    return x.gather(1, idx[:, :, None].expand(-1, -1, x.shape[2]))


def _plan(qseg: _Segments, kseg: _Segments) -> List[Tuple[int, int, int]]:
    """``(label, max queries, max keys)`` over the batch for labels with both (one sync)."""
    sizes = torch.stack([qseg.counts.amax(0), kseg.counts.amax(0)], 1).tolist()
    return [(lab, nq, nk) for lab, (nq, nk) in enumerate(sizes) if nq > 0 and nk > 0]


def _perlabel(q, k, v, q_labels, k_labels, scale, num_labels):
    batch, nq, _ = q.shape
    acc = _acc(q)
    qseg, kseg = _Segments(q_labels, num_labels), _Segments(k_labels, num_labels)
    vf = v.to(acc)
    dests, outs = [], []
    for label, mq, mk in _plan(qseg, kseg):
        qidx, _, qdest = qseg.window(label, mq)
        kidx, kvalid, _ = kseg.window(label, mk)
        scores = torch.matmul(_gather(q, qidx).to(acc),
                              _gather(k, kidx).to(acc).transpose(1, 2)) * scale
        attn = _masked_softmax(scores, kvalid[:, None, :].expand_as(scores))
        outs.append(torch.matmul(attn, _gather(vf, kidx)))
        dests.append(qdest)
    out = vf.new_zeros(batch, nq + 1, v.shape[2])
    if outs:
        dest = torch.cat(dests, 1)
        out = out.scatter(1, dest[:, :, None].expand(-1, -1, v.shape[2]), torch.cat(outs, 1))
    return out[:, :nq]


class _BlockedLabelAttention(torch.autograd.Function):
    """Per-label attention in query chunks; the backward recomputes scores per chunk."""

    @staticmethod
    def forward(ctx, q, k, v, q_labels, k_labels, scale, num_labels, chunk_elems):
        batch, nq, _ = q.shape
        cv = v.shape[2]
        acc = _acc(q)
        qseg, kseg = _Segments(q_labels, num_labels), _Segments(k_labels, num_labels)
        plan = _plan(qseg, kseg)
        out = q.new_zeros(batch, nq + 1, cv, dtype=acc)
        lse = q.new_full((batch, nq + 1), float('-inf'), dtype=acc)
        for label, mq, mk in plan:
            kidx, kvalid, _ = kseg.window(label, mk)
            key_pad = ~kvalid[:, None, :]
            ks, vs = _score_operand(_gather(k, kidx)), _gather(v, kidx).to(acc)
            rows = max(1, min(mq, chunk_elems // max(1, batch * mk)))
            for start in range(0, mq, rows):
                qidx, _, qdest = qseg.window(label, min(rows, mq - start), start)
                scores = _scores(_score_operand(_gather(q, qidx)), ks).mul_(scale)
                scores.masked_fill_(key_pad, float('-inf'))
                row_max = scores.amax(-1, keepdim=True)
                row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
                probs = scores.sub_(row_max).exp_()
                denom = probs.sum(-1, keepdim=True)
                o = torch.bmm(probs, vs).div_(denom.clamp_min(torch.finfo(acc).tiny))
                out.scatter_(1, qdest[:, :, None].expand(-1, -1, cv), o)
                lse.scatter_(1, qdest, (row_max + denom.log()).squeeze(-1))
        out, lse = out[:, :nq], lse[:, :nq]
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.scale, ctx.chunk_elems = scale, chunk_elems
        ctx.segments, ctx.plan = (qseg, kseg), plan  # the sort and the host sync, reused
        return out.to(v.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        with torch.autocast(device_type=grad_out.device.type, enabled=False):
            return _BlockedLabelAttention._backward(ctx, grad_out)

    @staticmethod
    def _backward(ctx, grad_out):
        q, k, v, out, lse = ctx.saved_tensors
        scale, chunk_elems = ctx.scale, ctx.chunk_elems
        batch, nq, c = q.shape
        nk, cv = k.shape[1], v.shape[2]
        cdtype, acc = q.dtype, out.dtype
        qseg, kseg = ctx.segments
        grad_out = grad_out.to(acc)
        delta = (grad_out * out).sum(-1)  # (B, Nq): rowsum(dO * O) of the softmax backward
        # rows without keys (lse -inf) and the dump row get lse +inf: their probabilities are 0
        inf = q.new_full((batch, 1), float('inf'), dtype=acc)
        lse = torch.cat([torch.where(torch.isfinite(lse), lse, inf), inf], 1)
        delta = torch.cat([delta, torch.zeros_like(inf)], 1)
        grad_out = torch.cat([grad_out, grad_out.new_zeros(batch, 1, cv)], 1)
        dq = q.new_zeros(batch, nq + 1, c, dtype=acc)
        dk = q.new_zeros(batch, nk + 1, c, dtype=acc)
        dv = q.new_zeros(batch, nk + 1, cv, dtype=acc)
        for label, mq, mk in ctx.plan:
            kidx, kvalid, kdest = kseg.window(label, mk)
            key_pad = ~kvalid[:, None, :]
            ks, vs = _gather(k, kidx), _gather(v, kidx).to(acc)
            ks_scores = _score_operand(ks)
            dks = q.new_zeros(batch, mk, c, dtype=acc)
            dvs = q.new_zeros(batch, mk, cv, dtype=acc)
            rows = max(1, min(mq, chunk_elems // max(1, batch * mk)))
            for start in range(0, mq, rows):
                qidx, _, qdest = qseg.window(label, min(rows, mq - start), start)
                qs = _gather(q, qidx)
                probs = _scores(_score_operand(qs), ks_scores).mul_(scale)
                probs = probs.sub_(lse.gather(1, qdest)[:, :, None]).masked_fill_(
                    key_pad, float('-inf')).exp_()
                do = _gather(grad_out, qdest)
                dvs.add_(torch.bmm(probs.transpose(1, 2), do))
                # gradient of the scores before ``scale`` (applied to dq, dk below)
                dscores = torch.bmm(do, vs.transpose(1, 2)).sub_(
                    delta.gather(1, qdest)[:, :, None]).mul_(probs).to(cdtype)
                dq.scatter_(1, qdest[:, :, None].expand(-1, -1, c),
                            torch.bmm(dscores, ks).to(acc))
                dks.add_(torch.bmm(dscores.transpose(1, 2), qs).to(acc))
            dk.scatter_(1, kdest[:, :, None].expand(-1, -1, c), dks)
            dv.scatter_(1, kdest[:, :, None].expand(-1, -1, cv), dvs)
        dq.mul_(scale)
        dk.mul_(scale)
        grads = (dq[:, :nq].to(q.dtype) if ctx.needs_input_grad[0] else None,
                 dk[:, :nk].to(k.dtype) if ctx.needs_input_grad[1] else None,
                 dv[:, :nk].to(v.dtype) if ctx.needs_input_grad[2] else None)
        return grads + (None,) * 5


_FLEX_COMPILED: Dict[str, object] = {}


def _flex_functions(device: torch.device):
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError as e:  # torch < 2.5
        raise RuntimeError('the flex warping backend needs torch >= 2.5 (FlexAttention); '
                           'use backend="blocked"') from e
    if device.type != 'cuda':
        return flex_attention, create_block_mask, False
    if 'flex' not in _FLEX_COMPILED:
        _FLEX_COMPILED['flex'] = torch.compile(flex_attention, dynamic=False)
    return _FLEX_COMPILED['flex'], create_block_mask, True


def _flex(q, k, v, q_labels, k_labels, scale, num_labels):
    if not q.is_cuda and torch.is_grad_enabled() and (
            q.requires_grad or k.requires_grad or v.requires_grad):
        raise RuntimeError('the flex warping backend has no backward on CPU (FlexAttention '
                           'limitation); use backend="blocked" to train on CPU')
    flex_attention, create_block_mask, compiled = _flex_functions(q.device)
    batch, nq, _ = q.shape
    nk, cv = k.shape[1], v.shape[2]
    qseg, kseg = _Segments(q_labels, num_labels), _Segments(k_labels, num_labels)
    q_sorted_labels = q_labels.gather(1, qseg.perm)
    k_sorted_labels = k_labels.gather(1, kseg.perm)
    # -1 queries and -1 keys must never meet
    k_sorted_labels = torch.where(k_sorted_labels < 0, -2, k_sorted_labels)

    def same_label(b, h, q_idx, kv_idx):
        return q_sorted_labels[b, q_idx] == k_sorted_labels[b, kv_idx]

    try:
        block_mask = create_block_mask(same_label, batch, None, nq, nk, device=q.device,
                                       _compile=compiled)
    except TypeError:  # torch versions without the ``_compile`` switch
        block_mask = create_block_mask(same_label, batch, None, nq, nk, device=q.device)
    # Triton kernels want a value head dim of at least 16 (a power of two)
    cv_pad = max(16, 1 << (cv - 1).bit_length())
    vs = _gather(v, kseg.perm).to(q.dtype)
    vs = torch.nn.functional.pad(vs, (0, cv_pad - cv))
    out_sorted = flex_attention(_gather(q, qseg.perm)[:, None], _gather(k, kseg.perm)[:, None],
                                vs[:, None], block_mask=block_mask, scale=scale)
    out_sorted = out_sorted[:, 0, :, :cv].float()
    out = out_sorted.new_zeros(batch, nq, cv)
    return out.scatter(1, qseg.perm[:, :, None].expand(-1, -1, cv), out_sorted)


def label_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    q_labels: torch.Tensor, k_labels: torch.Tensor, scale: float,
                    backend: str = 'blocked', num_labels: Optional[int] = None,
                    chunk_elems: int = 1 << 24) -> torch.Tensor:
    """Attention restricted to pairs of equal labels (see the module docstring).

    Args:
        q: Query features ``(B, Nq, C)``.
        k: Key features ``(B, Nk, C)``, same dtype as ``q``.
        v: Values ``(B, Nk, Cv)``.
        q_labels: ``(B, Nq)`` long in ``[-1, num_labels)``; -1 takes part in nothing.
        k_labels: ``(B, Nk)`` long in ``[-1, num_labels)``.
        scale: Multiplies the scores (``1 / temperature``).
        backend: One of :data:`BACKENDS`.
        num_labels: Number of labels; None reads ``max + 1`` from the labels (a sync).
        chunk_elems: ``blocked`` only: scores per chunk (bounds its working memory).

    Returns:
        ``(B, Nq, Cv)`` in ``v``'s dtype (computed in float32).
    """
    _check(q, k, v, q_labels, k_labels)
    if q.dtype != k.dtype:
        dtype = torch.promote_types(q.dtype, k.dtype)
        q, k = q.to(dtype), k.to(dtype)
    if num_labels is None:
        num_labels = int(max(q_labels.max(), k_labels.max()).item()) + 1 if q_labels.numel() else 1
    num_labels = max(1, num_labels)
    q_labels, k_labels = q_labels.long(), k_labels.long()
    # dtypes are managed here (float32 scores): autocast must not lower them
    with torch.autocast(device_type=q.device.type, enabled=False):
        out = _dispatch(backend, q, k, v, q_labels, k_labels, scale, num_labels, chunk_elems)
    return out.to(v.dtype)


def _dispatch(backend, q, k, v, q_labels, k_labels, scale, num_labels, chunk_elems):
    backend = resolve_backend(backend, q.device)
    if backend == 'dense':
        out = _dense(q, k, v, q_labels, k_labels, scale)
    elif backend == 'perlabel':
        out = _perlabel(q, k, v, q_labels, k_labels, scale, num_labels)
    elif backend == 'blocked':
        out = _BlockedLabelAttention.apply(q, k, v, q_labels, k_labels, float(scale),
                                           num_labels, int(chunk_elems))
    elif backend == 'flex':
        out = _flex(q, k, v, q_labels, k_labels, scale, num_labels)
    elif backend == 'varlen':
        out = varlen_label_attention(q, k, v, q_labels, k_labels, float(scale), num_labels)
    else:
        raise ValueError(f'unknown warping backend {backend!r}; choose one of {BACKENDS}')
    return out


def label_presence(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """``(B, L)`` bool: which labels of ``[0, num_labels)`` occur in each sample's ``(B, N)``."""
    key = torch.where(labels < 0, torch.full_like(labels, num_labels), labels.long())
    present = torch.zeros(labels.shape[0], num_labels + 1, dtype=torch.bool,
                          device=labels.device)
    present.scatter_(1, key, True)
    return present[:, :num_labels]


def resolve_query_labels(q_labels: torch.Tensor, k_labels: torch.Tensor, num_labels: int,
                         fallback: Optional[Dict[int, Sequence[int]]] = None) -> torch.Tensor:
    """Map each query label to the label it attends to in the same sample, or -1.

    A label present among the keys maps to itself. A missing one maps to the
    first of ``fallback[label]`` present among that sample's keys (no chaining:
    list the whole chain, e.g. ``{15: (14, 1)}`` necklace -> neck -> skin), and
    to -1 when none is (the caller then uses its own last resort).

    Args:
        q_labels: ``(B, Nq)`` long in ``[-1, num_labels)``.
        k_labels: ``(B, Nk)`` long in ``[-1, num_labels)``.
        num_labels: Number of labels.
        fallback: Label -> candidate labels, tried in order.

    Returns:
        ``(B, Nq)`` long in ``[-1, num_labels)``.
    """
    present = label_presence(k_labels, num_labels)  # (B, L)
    ids = torch.arange(num_labels, device=q_labels.device).expand_as(present)
    table = torch.where(present, ids, torch.full_like(ids, -1))
    for label, candidates in (fallback or {}).items():
        if not 0 <= label < num_labels:
            continue
        for cand in candidates:
            if 0 <= cand < num_labels:
                use = (table[:, label] < 0) & present[:, cand]
                table[:, label] = torch.where(use, torch.full_like(table[:, label], cand),
                                              table[:, label])
    table = torch.cat([table, table.new_full((table.shape[0], 1), -1)], 1)  # index L <- -1
    key = torch.where(q_labels < 0, torch.full_like(q_labels, num_labels), q_labels.long())
    return table.gather(1, key)
