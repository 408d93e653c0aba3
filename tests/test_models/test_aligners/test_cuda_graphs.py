"""``Head2HeadAligner(cuda_graphs=True)``: graphed training follows the eager trajectory."""
import copy

import pytest
import torch

from headswap.engine.optimizers import AutocastOptimWrapper
from headswap.models.aligners import cuda_graphs
from headswap.registry import OPTIM_WRAPPER_CONSTRUCTORS
from tests.test_models.test_aligners.test_head2head_aligner import batch, build, optim_for

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='CUDA graphs need a GPU')


def _train(cfg, graphs, ks, device):
    model = build(cfg, cuda_graphs=graphs).to(device).train()
    init = {n: p.detach().float().cpu().clone() for n, p in model.named_parameters()}

    def updates():  # what training changed so far: the update of each parameter
        return {n: p.detach().float().cpu() - init[n] for n, p in model.named_parameters()}

    optim = optim_for(cfg, model)
    logs, first = [], None
    for i, k in enumerate(ks):
        logs.append({n: float(v) for n, v in model.train_step(batch(k=k, seed=i), optim).items()})
        first = updates() if i == 0 else first
    buffers = {n: b.detach().float().cpu() for n, b in model.named_buffers()}
    return model, logs, (first, updates()), buffers


def _relative_update_differences(got, want, parts):
    """Per top-level part: ||update_got - update_want|| / ||update_want||."""
    out = {}
    for part in parts:
        names = [n for n in want if n.startswith(part + '.')]
        a = torch.cat([got[n].flatten() for n in names])
        b = torch.cat([want[n].flatten() for n in names])
        assert b.norm() > 0, f'{part} was not trained'
        out[part] = float((a - b).norm() / b.norm())
    return out


def test_on_cpu_trains_eagerly_with_a_warning(cfg):
    _, eager_logs, eager_params, _ = _train(cfg, False, (2, 1), 'cpu')
    with pytest.warns(UserWarning, match='CUDA graphs need a GPU'):
        model, logs, params, _ = _train(cfg, True, (2, 1), 'cpu')
    assert model.cuda_graphs.recordings == 0
    assert logs == eager_logs
    assert all(torch.equal(params[1][n], eager_params[1][n]) for n in params[1])


def test_refuses_gradient_accumulation_and_ddp(cfg, monkeypatch):
    model = build(cfg, cuda_graphs=True).train()
    optim = dict(copy.deepcopy(cfg.optim_wrapper))
    constructor = optim.pop('constructor')
    optim['generator']['accumulative_counts'] = 2
    optim = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor, optim_wrapper_cfg=optim))(model)
    with pytest.raises(ValueError, match=r'optim_wrapper.generator.accumulative_counts=2'):
        model.train_step(batch(), optim)

    model = build(cfg, cuda_graphs=True).train()
    monkeypatch.setattr(cuda_graphs, 'is_model_wrapper',
                        lambda m: m is model.discriminator)
    with pytest.raises(RuntimeError, match='cannot record DDP-wrapped parts \\(discriminator\\)'
                       ".*type='headswap.GradientSyncDataParallel'"):
        model.train_step(batch(), optim_for(cfg, model))


@cuda
@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_graphed_training_matches_eager(cfg, precision):
    """Same seed, same batches, K changing between iterations: the same losses and updates.

    SGD, not Adam: Adam turns numerically-zero gradients into full steps of either sign,
    which would hide small differences and amplify rounding; with SGD an update is the
    gradient. bf16 compares graphed bf16 with eager bf16 (the graph must not change what
    autocast computes); kernels are not bit-deterministic, hence the tolerances.
    """
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    cfg = copy.deepcopy(cfg)
    for part in ('generator', 'discriminator'):
        cfg.optim_wrapper[part].optimizer = dict(type='SGD', lr=1e-3)
        if precision == 'bf16':
            cfg.optim_wrapper[part].update(type=AutocastOptimWrapper, dtype='bfloat16')
    ks = (2, 2, 1, 2, 2)
    try:
        _, eager_logs, eager_updates, eager_buffers = _train(cfg, False, ks, 'cuda')
        # eager again: run-to-run noise (GAN feedback amplifies rounding differences)
        _, logs_again, eager_again, buffers_again = _train(cfg, False, ks, 'cuda')
        model, logs, updates, buffers = _train(cfg, True, ks, 'cuda')
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    # K = 2: generator, D and G-loss passes; K = 1: a second generator pass
    assert model.cuda_graphs.recordings == 4 and logs[-1]['cuda_graph_recordings'] == 4
    # relative tolerances for the first iteration (no feedback yet) and the later ones,
    # widened to 5x the eager-vs-eager difference where that is larger
    # (the first iteration is the sharp check: a recording that leaves a trace in the
    # training state, e.g. BatchNorm statistics, shows there by 5e-4 relative)
    floors = dict(fp32=(1e-4, 3e-2), bf16=(1e-2, 1e-1))[precision]
    for i, (got, want, again) in enumerate(zip(logs, eager_logs, logs_again)):
        assert set(got) == set(want) | {'cuda_graph_recordings'}
        rtol, atol = (floors[0], 1e-2) if i == 0 else (floors[1], 1e-1)
        for name in want:
            diff, noise = abs(got[name] - want[name]), abs(again[name] - want[name])
            assert diff <= max(rtol * (abs(want[name]) + atol), 5 * noise), \
                (i, name, got[name], want[name], again[name])
    # the updates of every trained part, after the first iteration and after the last
    parts = (*model.generator_modules, 'discriminator')
    for i, floor in enumerate(floors):
        rel = _relative_update_differences(updates[i], eager_updates[i], parts)
        noise = _relative_update_differences(eager_again[i], eager_updates[i], parts)
        assert max(rel.values()) <= max(floor, 5 * max(noise.values())), (i, rel, noise)
    # BatchNorm statistics and spectral-norm vectors: no trace of the recording warm-ups
    # (3 extra BatchNorm updates would move running means by ~1e-2..1e-1 and the counts by 3)
    for name, want in eager_buffers.items():
        if name.endswith('num_batches_tracked'):
            assert torch.equal(buffers[name], want), name
            continue
        diff = float((buffers[name] - want).abs().max())
        noise = float((buffers_again[name] - want).abs().max())
        assert diff <= max(floors[0] * 10, 5 * noise), (name, diff, noise)


@cuda
def test_graphed_training_without_the_discriminator(cfg):
    """``discriminator_start`` past the run: the generator and G-loss passes are recorded
    (the latter without D_A's terms), D_A is never run, and the losses follow eager's."""
    cfg = copy.deepcopy(cfg)
    cfg.model.update(gan_warmup=100, discriminator_start=100)
    ks = (2, 2, 2)
    _, eager_logs, _, _ = _train(cfg, False, ks, 'cuda')
    model, logs, updates, _ = _train(cfg, True, ks, 'cuda')
    assert model.cuda_graphs.recordings == 2
    assert not {'loss_d_adv', 'loss_g_adv', 'loss_disc_fm'} & set(logs[-1])
    assert all(float(u.abs().max()) == 0 for n, u in updates[1].items()
               if n.startswith('discriminator.'))
    for name, want in eager_logs[0].items():
        assert logs[0][name] == pytest.approx(want, rel=1e-2, abs=1e-3), name
