"""HeadSwapper: the two stages composed on crops, built from stage configs and checkpoints."""
import pytest
import torch
from mmengine.dataset import pseudo_collate

from headswap.models.swappers import HeadSwapper
from headswap.registry import MODELS, TRANSFORMS
from headswap.structures.face_labels import HEAD_LABELS
from headswap.utils import register_all_modules
from headswap.utils.checkpoint import CheckpointError
from tests.test_tools.tool_loader import load_tool

S1 = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'
S2 = 'configs/head2scene/head2scene_vgg19-unet5_1xb2-20_tiny-64x64.py'


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Untrained checkpoints of S1 and S2, written as make_tiny_checkpoints --iters 0 does
    (S1 is the latent-only tiny stage 1: these tests call the stages without landmarks)."""
    register_all_modules()
    out = tmp_path_factory.mktemp('tiny')
    save = load_tool('tools/misc/make_tiny_checkpoints.py')._save_initialised
    paths = str(out / 'aligner.pth'), str(out / 'blender.pth')
    for config, path in zip((S1, S2), paths):
        save(config, path, 0)
    return paths


def swapper(ckpts, **kw) -> HeadSwapper:
    return MODELS.build(dict(type='HeadSwapper', aligner=S1, blender=S2,
                             aligner_checkpoint=ckpts[0], blender_checkpoint=ckpts[1],
                             resolution=64, **kw))


def target(batch: int = 2):
    torch.manual_seed(1)
    img = torch.rand(batch, 3, 64, 64) * 2 - 1
    lab = torch.zeros(batch, 1, 64, 64, dtype=torch.long)
    lab[:, :, 6:18, 18:46] = 17   # hair
    lab[:, :, 18:44, 20:44] = 1   # skin
    lab[:, :, 26:30, 24:30] = 4   # an eye
    lab[:, :, 44:, 22:42] = 14    # neck
    lab[:, :, 52:, :] = 16        # cloth
    return img, lab


def test_swap_outputs_and_untouched_scene(ckpts):
    model = swapper(ckpts)
    assert model.aligner.discriminator is None and model.blender.discriminator is None
    assert model.blender.vgg.layer_names == ['relu3_1', 'relu4_1']
    img, lab = target()
    with torch.no_grad():
        code = model.encode_sources(torch.rand(1, 3, 3, 64, 64) * 2 - 1)
        out = model.swap(code, img, lab)
    for key in ('pred_img', 'head_img', 'blend_head_img', 'head_color_exemplar',
                'inpaint_exemplar'):
        assert out[key].shape == (2, 3, 64, 64) and torch.isfinite(out[key]).all(), key
    for key in ('head_mask', 'edit_mask', 'inpaint_mask'):
        assert out[key].shape == (2, 1, 64, 64)
    outside = out['edit_mask'] == 0
    assert outside.any()
    assert torch.equal(torch.where(outside, out['pred_img'], img), torch.where(outside, img, img))
    # 'mask' head parsing: T's head labels inside the stage-1 mask, hair elsewhere inside
    inside = out['head_mask'] > 0.5
    parsing = out['head_parsing']
    assert torch.equal(parsing[~inside], torch.zeros_like(parsing[~inside]))
    t_head = torch.isin(lab, torch.tensor(HEAD_LABELS))
    assert torch.equal(parsing[inside & t_head], lab[inside & t_head])
    assert (parsing[inside & ~t_head] == 17).all()


def test_ema_weights_replace_raw_ones(ckpts, tmp_path):
    state = torch.load(ckpts[0], weights_only=True)
    key = next(k for k in state['state_dict'] if k.startswith('generator.'))
    state['state_dict'][f'ema.module.{key}'] = state['state_dict'][key] + 1.0
    path = tmp_path / 'ema.pth'
    torch.save(state, path)
    with_ema = swapper((str(path), ckpts[1]))
    without = swapper((str(path), ckpts[1]), use_ema=False)
    assert torch.equal(with_ema.aligner.state_dict()[key], state['state_dict'][key] + 1.0)
    assert torch.equal(without.aligner.state_dict()[key], state['state_dict'][key])


def test_wrong_or_mismatched_checkpoints_are_named(ckpts, tmp_path):
    with pytest.raises(CheckpointError, match='needs a stage-1 Head2HeadAligner checkpoint.*'
                       'stage-2'):
        swapper((ckpts[1], ckpts[1]))
    with pytest.raises(CheckpointError, match='needs a stage-2'):
        swapper((ckpts[0], ckpts[0]))
    state = torch.load(ckpts[1], weights_only=True)
    state['state_dict'] = {k: v for k, v in state['state_dict'].items()
                           if not k.startswith('unet.head.')}
    bad = tmp_path / 'cut.pth'
    torch.save(state, bad)
    with pytest.raises(CheckpointError, match='cut.pth: does not fit.*missing keys'):
        swapper((ckpts[0], str(bad)))


def test_source_hair_colour_keeps_a_own_hair_in_the_exemplar(ckpts):
    model = swapper(ckpts)
    img, lab = target(1)
    with torch.no_grad():
        code = model.encode_sources(torch.rand(1, 1, 3, 64, 64) * 2 - 1)
        tgt = model.swap(code, img, lab, hair_color='target')
        src = model.swap(code, img, lab, hair_color='source')
    hair = (src['head_parsing'] == 17) & (src['head_mask'] > 0.5)
    hair = hair.expand(-1, 3, -1, -1)
    assert hair.any()
    assert torch.allclose(src['head_color_exemplar'][hair], src['blend_head_img'][hair])
    assert not torch.allclose(tgt['head_color_exemplar'][hair], src['head_color_exemplar'][hair])


def test_test_step_on_packed_samples(ckpts):
    model = swapper(ckpts)
    pack = TRANSFORMS.build(dict(type='PackHeadSwapInputs'))
    img, lab = target(2)
    samples = []
    for i in range(2):
        u8 = ((img[i] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        samples.append(pack(dict(
            source_imgs=[u8, u8], driver_img=u8, gt_img=u8,
            gt_parsing=lab[i, 0].byte().numpy(), identity='a', video='v', clip='c', frame=i)))
    out = model.test_step(pseudo_collate(samples))
    assert len(out) == 2
    s = out[0]
    for key in ('pred_img', 'head_img', 'target_img', 'gt_img', 'blend_head_img'):
        assert s.get(key).dtype == torch.uint8 and s.get(key).shape == (3, 64, 64), key
    assert s.source_imgs.shape == (2, 3, 64, 64) and s.source_imgs.dtype == torch.uint8
    assert s.head_mask.shape == (1, 64, 64) and s.head_mask.dtype == torch.float32
    assert s.frame == 0 and s.num_sources == 2
    with pytest.raises(Exception, match='64x64 crops'):
        model.swap(model.encode_sources(torch.zeros(1, 1, 3, 32, 32)),
                   torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 32, 32, dtype=torch.long))


def test_warping_backend_override_gives_the_same_swap(ckpts):
    img, lab = target()
    outs = {}
    for backend in ('blocked', 'dense'):
        model = swapper(ckpts, warping_backend=backend)
        assert model.blender.warping.backend == backend
        torch.manual_seed(0)
        with torch.no_grad():
            code = model.encode_sources(torch.rand(1, 3, 3, 64, 64) * 2 - 1)
            outs[backend] = model.swap(code, img, lab)['pred_img']
    torch.testing.assert_close(outs['blocked'], outs['dense'], atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match='unknown warping backend'):
        swapper(ckpts, warping_backend='fast')


def test_landmark_conditioned_stage1_reads_the_target_crops_landmarks(ckpts):
    from headswap.errors import UserError
    from headswap.utils.config import load_config
    aligner = load_config(S1).model
    aligner.landmark_map = dict(type='LandmarkHeatmap', size=32, sigma=1.0)
    aligner.generator.cond_channels = 8
    model = MODELS.build(dict(type='HeadSwapper', aligner=aligner, blender=S2,
                              blender_checkpoint=ckpts[1], resolution=64))
    img, lab = target()
    torch.manual_seed(0)
    lms = torch.rand(2, 68, 2) * 32 + 16  # crop pixels of the 64x64 targets
    with torch.no_grad():
        code = model.encode_sources(torch.rand(1, 3, 3, 64, 64) * 2 - 1)
        a, _ = model.animate(code, img, lms)
        b, _ = model.animate(code, img, lms.flip(1))  # the same crops, other landmarks
        out = model.swap(code, img, lab, lms)
    assert (a - b).abs().mean() > 1e-4
    assert torch.allclose(out['head_img'], a, atol=1e-5)
    with pytest.raises(UserError, match='landmark-conditioned'):
        model.animate(code, img)
