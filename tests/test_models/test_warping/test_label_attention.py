import importlib

import pytest
import torch

from headswap.models.warping.label_attention import (label_attention, label_presence,
                                                     resolve_backend, resolve_query_labels)

# the module (the package exports its function under the same name)
label_attention_module = importlib.import_module('headswap.models.warping.label_attention')

L = 6
EXACT = ('dense', 'perlabel', 'blocked', 'varlen')


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-12))


def make_case(seed: int = 0, dtype=torch.float32, b: int = 3, nq: int = 40, nk: int = 56,
              c: int = 8):
    """Random features and labels with the edge cases of the issue:
    a query label missing from the keys (sample 0: label 5), a label covering a
    single key pixel (sample 1: label 3), an all-background sample (sample 2),
    and queries that take part in nothing (label -1)."""
    g = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(b, nq, c, generator=g), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(b, nk, c, generator=g), dim=-1)
    v = torch.rand(b, nk, 3, generator=g)
    ql = torch.randint(0, L, (b, nq), generator=g)
    kl = torch.randint(0, L - 1, (b, nk), generator=g)  # label 5 never among the keys
    kl[1][kl[1] == 3] = 4
    kl[1, 7] = 3  # label 3 covers one key pixel of sample 1
    ql[2] = 0
    kl[2] = 0  # all background
    ql[0, :3] = -1
    return [x.to(dtype) for x in (q, k, v)] + [ql, kl]


def run(backend, q, k, v, ql, kl, scale=20.0, grad=True, chunk_elems=1 << 24):
    q, k, v = (x.detach().clone().requires_grad_(grad) for x in (q, k, v))
    out = label_attention(q, k, v, ql, kl, scale, backend, L, chunk_elems)
    if not grad:
        return out.detach(), None
    weight = torch.linspace(-1, 1, out.numel(), device=out.device).view_as(out).to(out.dtype)
    (out * weight).sum().backward()
    return out.detach(), (q.grad, k.grad, v.grad)


@pytest.mark.parametrize('backend', ['perlabel', 'blocked', 'varlen'])
def test_backends_agree_fp32_with_gradients(backend):
    case = make_case()
    ref, ref_grads = run('dense', *case)
    out, grads = run(backend, *case)
    assert rel(out, ref) < 1e-4
    for g, rg in zip(grads, ref_grads):
        assert rel(g, rg) < 1e-4
    # the query without keys (label 5 in sample 0) and -1 queries give exactly 0
    empty = (case[3][0] == 5) | (case[3][0] == -1)
    assert empty.any() and out[0][empty].abs().max() == 0
    # the one-pixel label returns that pixel's value
    one = case[3][1] == 3
    assert one.any() and torch.allclose(out[1][one], case[2][1, 7].expand(int(one.sum()), 3))


def test_blocked_chunking_does_not_change_the_result():
    case = make_case(1)
    ref, ref_grads = run('blocked', *case)
    out, grads = run('blocked', *case, chunk_elems=1)  # one query row per chunk
    assert rel(out, ref) < 1e-5  # float32 summation order only
    assert all(rel(g, rg) < 1e-5 for g, rg in zip(grads, ref_grads))


def test_backends_agree_bf16():
    case = make_case(2, dtype=torch.bfloat16)
    ref, ref_grads = run('dense', *case)
    for backend in ('perlabel', 'blocked', 'varlen'):
        out, grads = run(backend, *case)
        assert out.dtype == torch.bfloat16
        assert rel(out, ref) < 1e-2
        for g, rg in zip(grads, ref_grads):
            assert g.dtype == torch.bfloat16 and rel(g, rg) < 1e-2


@pytest.mark.filterwarnings('ignore:.*flex_attention called without torch.compile')
def test_flex_forward_agrees_on_cpu_and_refuses_backward():
    case = make_case(3)
    ref, _ = run('dense', *case, grad=False)
    out, _ = run('flex', *case, grad=False)
    assert rel(out, ref) < 1e-4
    with pytest.raises(RuntimeError, match='no backward on CPU'):
        run('flex', *case)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_flex_matches_dense_on_cuda_with_gradients():
    case = [x.cuda() for x in make_case(4)]
    ref, ref_grads = run('dense', *case)
    out, grads = run('flex', *case)
    assert rel(out, ref) < 1e-4
    assert all(rel(g, rg) < 1e-3 for g, rg in zip(grads, ref_grads))


@pytest.mark.parametrize('backend', ['blocked', 'varlen'])
def test_gradcheck_float64(backend):
    q, k, v, ql, kl = make_case(5, dtype=torch.float64, nq=12, nk=14, c=4)
    inputs = tuple(x.requires_grad_() for x in (q, k, v))
    assert torch.autograd.gradcheck(
        lambda a, b, c: label_attention(a, b, c, ql, kl, 3.0, backend, L, chunk_elems=20),
        inputs, fast_mode=True)


def test_varlen_batches_without_keys_or_with_wide_values():
    """No key of any label (every query gets 0, finite gradients), and values wider than
    the features (one head dim for both inside)"""
    q, k, v, ql, kl = make_case(7)
    out, grads = run('varlen', q, k, v, ql, torch.full_like(kl, -1))
    assert out.abs().max() == 0 and all(torch.isfinite(g).all() for g in grads)
    wide = torch.rand(*v.shape[:2], 21)
    ref, ref_grads = run('dense', q, k, wide, ql, kl)
    out, grads = run('varlen', q, k, wide, ql, kl)
    assert out.shape == ref.shape and rel(out, ref) < 1e-5
    assert all(rel(g, rg) < 1e-4 for g, rg in zip(grads, ref_grads))


def test_varlen_segments_are_never_empty():
    """torch's fused kernels refuse a jagged tensor with an empty segment (math path, quadratic
    memory): only (sample, label) pairs with queries and keys become segments, + one of a
    zero row; the pixels that take part are exactly those of such pairs."""
    from headswap.models.warping.varlen_attention import plan_segments
    _, _, _, ql, kl = make_case()
    q_index, q_offsets, k_index, k_offsets, longest_q, longest_k = plan_segments(ql, kl, L)
    n = ql.shape[1]
    pairs = sorted({(b, lab) for b in range(ql.shape[0]) for lab in range(L)
                    if (ql[b] == lab).any() and (kl[b] == lab).any()})
    assert len(q_offsets) == len(k_offsets) == len(pairs) + 2  # + the zero row's, + the start
    assert (q_offsets.diff() > 0).all() and (k_offsets.diff() > 0).all()
    assert q_offsets[-1] == len(q_index) + 1 and k_offsets[-1] == len(k_index) + 1
    assert longest_q == int(q_offsets.diff().max()) and longest_k == int(k_offsets.diff().max())
    # segment by segment: the queries and keys of one pair, in pixel order
    for s, (b, lab) in enumerate(pairs):
        qs = q_index[q_offsets[s]:q_offsets[s + 1]]
        assert torch.equal(qs, torch.nonzero(ql[b] == lab)[:, 0] + b * n)
        ks = k_index[k_offsets[s]:k_offsets[s + 1]]
        assert torch.equal(ks, torch.nonzero(kl[b] == lab)[:, 0] + b * kl.shape[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('dtype, tol', [(torch.float32, 1e-4), (torch.bfloat16, 2e-2)])
def test_varlen_matches_dense_on_cuda_with_gradients(dtype, tol):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    case = [x.cuda() for x in make_case(8, dtype=dtype, c=64)]
    ref, ref_grads = run('dense', *case)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
        out, grads = run('varlen', *case)  # a fused kernel, not the math path
    assert rel(out, ref) < tol
    assert all(rel(g, rg) < 10 * tol for g, rg in zip(grads, ref_grads))


@pytest.mark.parametrize('backend', EXACT)
def test_sharp_temperature_no_overflow(backend):
    """scale 1e4: exp() of unmasked scores would overflow; nothing may become NaN."""
    case = make_case(6)
    out, grads = run(backend, *case, scale=1e4)
    assert torch.isfinite(out).all() and all(torch.isfinite(g).all() for g in grads)


def test_auto_backend_is_varlen_on_cuda_and_blocked_elsewhere(monkeypatch):
    assert resolve_backend('auto', torch.device('cuda', 0)) == 'varlen'
    assert resolve_backend('auto', 'cuda') == 'varlen'
    assert resolve_backend('auto', torch.device('cpu')) == 'blocked'
    assert resolve_backend('dense', torch.device('cuda')) == 'dense'
    # on these CPU tensors 'auto' runs the blocked kernel (not varlen's quadratic CPU path)
    calls = []
    blocked = label_attention_module._BlockedLabelAttention.apply
    monkeypatch.setattr(label_attention_module._BlockedLabelAttention, 'apply',
                        lambda *a: calls.append('blocked') or blocked(*a))
    monkeypatch.setattr(label_attention_module, 'varlen_label_attention',
                        lambda *a: pytest.fail('varlen ran on CPU'))
    case = make_case()
    out, grads = run('auto', *case)
    ref, ref_grads = run('dense', *case)
    assert calls and rel(out, ref) < 1e-4
    assert all(rel(g, rg) < 1e-4 for g, rg in zip(grads, ref_grads))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_auto_backend_runs_varlen_on_cuda(monkeypatch):
    calls = []
    varlen = label_attention_module.varlen_label_attention
    monkeypatch.setattr(label_attention_module, 'varlen_label_attention',
                        lambda *a: calls.append('varlen') or varlen(*a))
    case = [x.cuda() for x in make_case(8, c=64)]
    out, _ = run('auto', *case)
    ref, _ = run('dense', *case)
    assert calls == ['varlen'] and rel(out, ref) < 1e-4


def test_bad_shapes_and_backend():
    q, k, v, ql, kl = make_case()
    with pytest.raises(ValueError, match='labels must be'):
        label_attention(q, k, v, ql[:, :-1], kl, 1.0, 'dense', L)
    with pytest.raises(ValueError, match='unknown warping backend'):
        label_attention(q, k, v, ql, kl, 1.0, 'fast', L)


def test_resolve_query_labels_fallback_chain():
    keys = torch.tensor([[1, 1, 3, 0], [0, 0, 0, 0]])
    queries = torch.tensor([[2, 3, 4, -1], [2, 1, 0, 5]])
    table = {2: (4, 3, 1), 4: (2,), 5: (1,)}
    out = resolve_query_labels(queries, keys, L, table)
    # sample 0: 2 -> 4 missing -> 3 present; 3 present; 4 -> 2 missing -> -1; -1 stays
    # sample 1: only background among the keys
    assert out.tolist() == [[3, 3, -1, -1], [-1, -1, 0, -1]]
    assert label_presence(keys, L).tolist()[0] == [True, True, False, True, False, False]
