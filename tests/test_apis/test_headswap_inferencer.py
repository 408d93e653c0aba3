"""HeadSwapInferencer end to end on the bundled real sample (tiny models, CPU)."""
import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from headswap.apis import HeadSwapInferencer
from headswap.provenance import Provenance, detect_watermark, read_provenance
from headswap.registry import INFERENCERS
from headswap.utils.cli import UserError
from tests.test_apis.media_fixtures import (ASTRONAUT, CARPHONE, assert_same_audio, astronaut,
                                            decode, paste, probe, sample_frame, scene, talking_clip,
                                            watermark_bound, write_clip)
from tests.test_tools.tool_loader import load_tool

CONFIG = 'configs/inference/headswap_offline_tiny-64.py'


@pytest.fixture(scope='module')
def inferencer(tmp_path_factory):
    out = tmp_path_factory.mktemp('tiny')
    ckpts = load_tool('tools/misc/make_tiny_checkpoints.py').make_tiny_checkpoints(
        str(out), iters=0)
    inf = INFERENCERS.build(dict(
        type='HeadSwapInferencer', model=CONFIG, device='cpu', show_progress=False,
        cfg_options={'model.aligner_checkpoint': ckpts['head2head_aligner_tiny.pth'],
                     'model.blender_checkpoint': ckpts['head2scene_blender_tiny.pth']}))
    assert isinstance(inf, HeadSwapInferencer)
    inf.set_sources(CARPHONE, num_sources=4)
    return inf


@pytest.fixture
def no_watermark(inferencer):
    inferencer.provenance = Provenance(watermark=False, c2pa=False)
    yield inferencer
    inferencer.provenance = Provenance()


def astronaut_scene() -> np.ndarray:
    return paste(scene(240, 180), astronaut(), 60, 20, 150)


def changed_region(inf, target: np.ndarray, paste_mask_png: str) -> np.ndarray:
    """Where the swap may change the target: the saved paste mask warped back, dilated."""
    det = inf.analysis.detect([target])[0]
    best = int(np.argmax((det.boxes[:, 2] - det.boxes[:, 0])))
    lm, ok = inf.analysis.landmarks([target], det.boxes[best:best + 1],
                                    det.keypoints[best:best + 1])
    m = inf.analysis.transform(lm[0])
    mask = cv2.imread(paste_mask_png, cv2.IMREAD_GRAYSCALE)
    h, w = target.shape[:2]
    back = cv2.warpAffine(mask, cv2.invertAffineTransform(m), (w, h), flags=cv2.INTER_LINEAR)
    return cv2.dilate((back > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0


def test_sources_are_cached_and_diverse(inferencer):
    src = inferencer.sources
    assert len(src['crops']) == 4 and src['candidates'] == 40
    assert src['crops'][0].shape == (64, 64, 3)
    code = src['code']
    assert inferencer.set_sources(CARPHONE, num_sources=4)['code'] is code  # cached


def test_image_target_writes_marked_output(inferencer, tmp_path):
    target = astronaut_scene()
    path = str(tmp_path / 't.png')
    Image.fromarray(target).save(path)
    res = inferencer(path, out=str(tmp_path / 'out.png'),
                     save_intermediates=str(tmp_path / 'inter'))
    s = res['predictions'][0]
    assert s['status'] == 'ok' and s['frames'] == 1 and s['swapped'] == 1
    out = np.asarray(Image.open(tmp_path / 'out.png').convert('RGB'))
    assert out.shape == target.shape
    assert np.array_equal(res['visualization'][0], out)
    # the watermark alone changes most pixels a little: the head region must change much more,
    # and everything else stay within the watermark's bound
    mask_png = glob.glob(str(tmp_path / 'inter' / '*_paste_mask.png'))[0]
    region = changed_region(inferencer, target, mask_png)
    diff = np.abs(out.astype(np.int16) - target.astype(np.int16))
    assert diff[~region].max() <= watermark_bound(*target.shape[:2])
    assert diff[region].mean() > 5 * diff[~region].mean(), (diff[region].mean(),
                                                            diff[~region].mean())
    prov = read_provenance(str(tmp_path / 'out.png'))
    assert prov['synthetic'] and prov['fields']['generator'] == 'headswap'
    assert prov['fields']['watermark'] == 'headswap-ss-v1'
    assert detect_watermark(str(tmp_path / 'out.png'))[0]
    names = {osp.basename(p).split('_000000_')[-1] for p in (tmp_path / 'inter').iterdir()}
    assert {'target_crop.png', 'target_parsing.png', 'head.png', 'head_mask.png',
            'head_parsing.png', 'head_color_exemplar.png', 'inpaint_exemplar.png',
            'blended.png', 'paste_mask.png', 'source_00_crop.png'} <= names


def test_pixels_outside_the_dilated_head_region_are_untouched(no_watermark, tmp_path):
    target = astronaut_scene()
    res = no_watermark(target, out=str(tmp_path / 'o.png'),
                       save_intermediates=str(tmp_path / 'i'))
    out = np.asarray(Image.open(tmp_path / 'o.png').convert('RGB'))
    region = changed_region(no_watermark, target, str(tmp_path / 'i' /
                                                      'target_000000_paste_mask.png'))
    assert res['predictions'][0]['swapped'] == 1
    assert 0.02 < region.mean() < 0.6
    assert np.array_equal(out[~region], target[~region])
    # the swap replaced the head region, not a pixel or two of it
    changed = (out[region] != target[region]).any(-1).mean()
    assert changed > 0.5, changed
    assert read_provenance(str(tmp_path / 'o.png'))['fields']['watermark'] == 'disabled'


def test_video_target_keeps_frames_fps_and_audio(inferencer, tmp_path):
    frames = talking_clip(12, empty=(5, 6))
    target = write_clip(str(tmp_path / 'talk.mp4'), frames)
    out = str(tmp_path / 'swap.mp4')
    res = inferencer(target, out=out, face='largest', pipelined=True)
    s = res['predictions'][0]
    assert s['status'] == 'ok' and s['frames'] == 12
    assert s['swapped'] == 10 and s['no_face'] == 2 and s['skipped'] == {'no_face': 2}
    info = probe(out)
    assert info['frames'] == 12 and info['fps'] == 25 and info['audio']
    assert info['size'] == (192, 144)
    assert_same_audio(out, target)  # kept: as long as the input's and the same samples
    prov = read_provenance(out)
    assert prov['synthetic'] and prov['fields']['version']
    assert detect_watermark(out)[0]
    got, src = decode(out), decode(target)
    for t in (5, 6):  # frames without a face pass through (up to the watermark + re-encoding)
        err = np.abs(got[t].astype(float) - src[t].astype(float)).mean()
        assert err < 3.0
    assert np.abs(got[0].astype(float) - src[0].astype(float)).mean() > err


def test_sequential_and_pipelined_video_give_the_same_frames(no_watermark, tmp_path):
    target = write_clip(str(tmp_path / 'v.mp4'), talking_clip(9), audio=False)
    a = no_watermark(target, out=str(tmp_path / 'a.mkv'), pipelined=True)
    b = no_watermark(target, out=str(tmp_path / 'b.mkv'), pipelined=False)
    assert a['predictions'][0]['swapped'] == b['predictions'][0]['swapped'] == 9
    fa, fb = decode(str(tmp_path / 'a.mkv')), decode(str(tmp_path / 'b.mkv'))
    assert len(fa) == len(fb) == 9 and all(np.array_equal(x, y) for x, y in zip(fa, fb))


def test_truncated_target_reports_and_never_replaces_an_output(inferencer, tmp_path):
    target = write_clip(str(tmp_path / 'full.mp4'), talking_clip(12), faststart=True)
    data = open(target, 'rb').read()
    cut = tmp_path / 'cut.mp4'
    cut.write_bytes(data[:int(len(data) * 0.6)])
    (tmp_path / 'o.mp4').write_bytes(b'an earlier result')
    res = inferencer(str(cut), out=str(tmp_path / 'o.mp4'))
    s = res['predictions'][0]
    assert s['status'] == 'error' and 'truncated' in s['error'] and 'cut.mp4' in s['error']
    assert 0 < s['frames'] < 12 and s['output'] is None
    assert 'nothing written to' in s['error'] and 'left as it was' in s['error']
    # the existing file is untouched, and no partial file is left beside it
    assert (tmp_path / 'o.mp4').read_bytes() == b'an earlier result'
    assert not [f for f in os.listdir(tmp_path) if '.partial-' in f]
    # a whole run writes it (moved into place)
    res = inferencer(target, out=str(tmp_path / 'o.mp4'))
    assert res['predictions'][0]['status'] == 'ok'
    assert probe(str(tmp_path / 'o.mp4'))['frames'] == 12
    assert not [f for f in os.listdir(tmp_path) if '.partial-' in f]
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'\x01' * 5000)
    with pytest.raises(UserError, match='garbage.mp4: not a readable video'):
        inferencer(str(garbage), out=str(tmp_path / 'g.mp4'))


def test_odd_sized_video_is_padded(inferencer, tmp_path):
    frames = [f[:143, :191] for f in talking_clip(4)]
    target = write_clip(str(tmp_path / 'odd.mov'), frames, audio=False, codec='png')
    res = inferencer(target, out=str(tmp_path / 'odd.mp4'))
    assert res['predictions'][0]['frames'] == 4
    info = probe(str(tmp_path / 'odd.mp4'))
    assert info['size'] == (192, 144) and info['frames'] == 4


def test_source_without_a_face_is_left_out_and_named(inferencer, tmp_path):
    blank = tmp_path / 'wall.png'
    Image.fromarray(scene(200, 160)).save(blank)
    (tmp_path / 'broken.jpg').write_bytes(b'not a jpeg')
    # among usable ones: left out with a warning naming it, the others are used
    got = inferencer.set_sources([CARPHONE + '/000000.jpg', str(blank),
                                  str(tmp_path / 'broken.jpg')])
    assert got['names'] == [CARPHONE + '/000000.jpg']
    # (each is also logged as a warning: 'source left out: ...')
    assert 'wall.png: no face found in this image' in got['skipped'][0]
    assert 'broken.jpg: not a readable image' in got['skipped'][1]
    # alone, or with nothing usable beside it: an error naming each
    with pytest.raises(UserError, match='wall.png: no face found in this image'):
        inferencer.set_sources(str(blank))
    video = write_clip(str(tmp_path / 'empty.mp4'), [scene(96, 64)] * 3, audio=False)
    with pytest.raises(UserError, match='empty.mp4: no face found in any of the 3 frames'):
        inferencer.set_sources(video)
    with pytest.raises(UserError, match='no usable source among 2: .*wall.png.*empty.mp4'):
        inferencer.set_sources([str(blank), video])
    inferencer.set_sources(CARPHONE, num_sources=4)


def test_a_batch_goes_on_past_bad_targets(inferencer, tmp_path):
    folder = tmp_path / 'targets'
    folder.mkdir()
    Image.fromarray(astronaut_scene()).save(folder / 'a_good.png')
    (folder / 'b_broken.jpg').write_bytes(b'not a jpeg')
    Image.fromarray(scene(120, 90)).save(folder / 'c_wall.png')
    res = inferencer(str(folder), out=str(tmp_path / 'out'))
    by_name = {osp.basename(s['target']): s for s in res['predictions']}
    assert sorted(by_name) == ['a_good.png', 'b_broken.jpg', 'c_wall.png']
    assert by_name['a_good.png']['status'] == 'ok'
    assert by_name['b_broken.jpg']['status'] == 'error' and 'b_broken.jpg' in \
        by_name['b_broken.jpg']['error']
    assert 'no face was swapped' in by_name['c_wall.png']['error']
    assert sorted(os.listdir(tmp_path / 'out')) == ['a_good_swap.png']
    # one bad target alone still raises its one-line error
    with pytest.raises(UserError, match='b_broken.jpg'):
        inferencer(str(folder / 'b_broken.jpg'), out=str(tmp_path / 'o.png'))


def test_target_without_a_face_is_an_error_and_writes_nothing(inferencer, tmp_path):
    wall = scene(120, 90)
    res = inferencer(wall, out=str(tmp_path / 'o.png'))
    s = res['predictions'][0]
    assert s['swapped'] == 0 and s['no_face'] == 1 and s['skipped'] == {'no_face': 1}
    assert s['status'] == 'error' and 'no face was swapped in its 1 frame(s)' in s['error']
    # an unchanged picture is never written under the output name (it would be labelled
    # as synthetic)
    assert not (tmp_path / 'o.png').exists() and s['output'] is None
    assert os.listdir(tmp_path) == []
    video = write_clip(str(tmp_path / 'walls.mp4'), [scene(96, 64)] * 3, audio=False)
    s = inferencer(video, out=str(tmp_path / 'o.mp4'))['predictions'][0]
    assert s['status'] == 'error' and 'no face was swapped in its 3 frame(s)' in s['error']
    assert sorted(os.listdir(tmp_path)) == ['walls.mp4']


def test_several_faces_default_to_the_largest(no_watermark, tmp_path):
    target = paste(paste(scene(320, 200), astronaut(), 10, 20, 170), sample_frame(0), 200, 60,
                   110)
    res = no_watermark(target, out=str(tmp_path / 'o.png'))
    assert res['predictions'][0]['several_faces'] == 1
    out = np.asarray(Image.open(tmp_path / 'o.png'))
    changed = np.abs(out.astype(int) - target.astype(int)).sum(-1) > 0
    ys, xs = np.nonzero(changed)
    assert xs.mean() < 160  # the large face on the left was swapped
    res = no_watermark(target, out=str(tmp_path / 'o1.png'), target_face=2)
    out = np.asarray(Image.open(tmp_path / 'o1.png'))
    changed = np.abs(out.astype(int) - target.astype(int)).sum(-1) > 0
    assert np.nonzero(changed)[1].mean() > 160  # face 2 from the left: the small one


@pytest.mark.parametrize('kind', ['grey', 'rgba', '16bit', 'exif'])
def test_image_formats(inferencer, tmp_path, kind):
    target = astronaut_scene()
    path = str(tmp_path / f'{kind}.png')
    expected_shape = target.shape
    if kind == 'grey':
        cv2.imwrite(path, cv2.cvtColor(target, cv2.COLOR_RGB2GRAY))
    elif kind == 'rgba':
        Image.fromarray(np.dstack([target, np.full(target.shape[:2], 255, np.uint8)])).save(path)
    elif kind == '16bit':
        cv2.imwrite(path, target[..., ::-1].astype(np.uint16) * 257)
    else:  # stored rotated 90 degrees, displayed upright
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(np.ascontiguousarray(np.rot90(target, 1))).save(path, exif=exif)
    res = inferencer(path, out=str(tmp_path / f'{kind}_out.jpg'))
    s = res['predictions'][0]
    assert s['swapped'] == 1, s
    assert np.asarray(Image.open(tmp_path / f'{kind}_out.jpg')).shape == expected_shape


def test_image_larger_than_8k(inferencer, tmp_path):
    big = scene(8400, 4800)
    big = paste(big, astronaut(), 3000, 1200, 1400)
    res = inferencer(big, out=str(tmp_path / 'big.jpg'))
    s = res['predictions'][0]
    assert s['swapped'] == 1
    assert res['visualization'][0].shape == (4800, 8400, 3)
    assert np.array_equal(res['visualization'][0][:1000, :2000] != 0,
                          np.ones((1000, 2000, 3), bool))  # real pixels, nothing blanked


def test_bf16_and_source_hair_colour(inferencer, tmp_path):
    inferencer.bf16 = True
    try:
        res = inferencer(astronaut_scene(), hair_color='source')
    finally:
        inferencer.bf16 = False
    assert res['predictions'][0]['swapped'] == 1
    assert res['visualization'][0].dtype == np.uint8


def test_demo_cli(inferencer, tmp_path):
    """The command line: summary lines, exit 1 for a truncated target, 2 for usage errors.
    The three commands are independent: they run two at a time (``ToolRuns``)."""
    from tests.conftest import ToolRuns
    ckpt = inferencer.cfg.model
    target = write_clip(str(tmp_path / 'full.mp4'), talking_clip(10), faststart=True)
    data = open(target, 'rb').read()
    (tmp_path / 'cut.mp4').write_bytes(data[:int(len(data) * 0.6)])
    Image.fromarray(scene(120, 90)).save(tmp_path / 'wall.png')
    common = ['demo/headswap_demo.py', '--config', CONFIG, '--quiet', '--device', 'cpu',
              '--cfg-options', f'model.aligner_checkpoint={ckpt.aligner_checkpoint}',
              f'model.blender_checkpoint={ckpt.blender_checkpoint}', '--sources', ASTRONAUT]
    with ToolRuns() as tools:
        def demo(target, out):
            return tools.start(common + ['--target', str(tmp_path / target), '--out',
                                         str(tmp_path / out)], check=False)

        cut, wall, none = (demo('cut.mp4', 'o.mp4'), demo('wall.png', 'o.png'),
                           demo('none.jpg', 'none.png'))
        proc = cut.result()
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert 'frames swapped' in proc.stdout and 'truncated' in proc.stderr
        assert proc.stderr.count('truncated') == 1  # one message per error
        proc = wall.result()
        assert proc.returncode == 1 and 'wall.png: no face was swapped' in proc.stderr
        assert not (tmp_path / 'o.png').exists()
        proc = none.result()
        assert proc.returncode == 2 and 'none.jpg: no such file or folder' in proc.stderr


@pytest.mark.parametrize('embedder', ['sface', 'arcface'])
def test_reference_photo_chooses_the_face(no_watermark, tmp_path, embedder):
    target = paste(paste(scene(320, 200), astronaut(), 10, 20, 150), sample_frame(0), 170, 20,
                   150)
    Image.fromarray(astronaut()).save(tmp_path / 'ref.png')
    no_watermark.settings['reference_embedder'] = embedder
    try:
        res = no_watermark(target, face=str(tmp_path / 'ref.png'))
    finally:
        no_watermark.settings['reference_embedder'] = 'sface'
    s = res['predictions'][0]
    assert s['swapped'] == 1 and s['several_faces'] == 1
    changed = np.abs(res['visualization'][0].astype(int) - target.astype(int)).sum(-1) > 0
    assert np.nonzero(changed)[1].mean() < 160  # the astronaut, on the left


def test_video_source_gives_k_diverse_frames(inferencer, tmp_path):
    video = write_clip(str(tmp_path / 's.mp4'), talking_clip(20), audio=False)
    try:
        src = inferencer.set_sources(video, num_sources=3)
        assert len(src['crops']) == 3 and src['candidates'] == 20
        assert all('s.mp4#' in n for n in src['names'])
        assert len(set(src['names'])) == 3
    finally:
        inferencer.set_sources(CARPHONE, num_sources=4)


def test_combined_weights_give_the_same_swap(no_watermark, tmp_path):
    cfg = no_watermark.cfg.model
    out = load_tool('tools/model_converters/headswapper_checkpoint.py').convert(
        CONFIG, str(tmp_path / 'hs.pth'), cfg.aligner_checkpoint, cfg.blender_checkpoint)
    other = HeadSwapInferencer(CONFIG, weights=out, device='cpu', show_progress=False,
                               provenance=no_watermark.provenance,
                               cfg_options={'model.aligner_checkpoint': 'missing.pth'})
    other.set_sources(CARPHONE, num_sources=4)
    target = astronaut_scene()
    a = no_watermark(target)['visualization'][0]
    b = other(target)['visualization'][0]
    assert np.array_equal(a, b)
    from headswap.utils.checkpoint import CheckpointError
    with pytest.raises(CheckpointError, match='weights must be a HeadSwapper checkpoint'):
        HeadSwapInferencer(CONFIG, weights=cfg.aligner_checkpoint, device='cpu')


def test_preprocess_yields_aligned_batches(inferencer):
    frames = [(i, f) for i, f in enumerate(talking_clip(5, empty=(2,)))]
    batches = list(inferencer.preprocess(frames, batch_size=2, smooth_sigma=2.0))
    assert [b.indices for b in batches] == [[0, 1], [2, 3], [4]]
    flat = [(c, r) for b in batches for c, r in zip(b.crops, b.reasons)]
    assert flat[2] == (None, 'no_face')
    assert all(c.shape == (64, 64, 3) for i, (c, _) in enumerate(flat) if i != 2)


def test_partial_batches_are_padded_without_changing_the_swap(inferencer, monkeypatch):
    """A batch with fewer faces than batch_size runs at the full size (one set of shapes for
    cudnn autotuning) and gives the same outputs as running it unpadded."""
    frames = [(i, f) for i, f in enumerate(talking_clip(3, empty=(1,)))]
    batch = next(iter(inferencer.preprocess(frames, batch_size=3, smooth_sigma=0.0)))
    seen = []
    animate = inferencer.model.animate
    monkeypatch.setattr(inferencer.model, 'animate',
                        lambda code, img, *lms: seen.append(len(img)) or animate(code, img, *lms))
    padded = inferencer.forward(batch)
    inferencer.settings['pad_batches'] = False
    try:
        plain = inferencer.forward(batch)
    finally:
        inferencer.settings['pad_batches'] = True
    assert seen == [inferencer.settings['batch_size'], 2]
    assert padded['selected'] == plain['selected'] == [0, 2]
    for key, value in plain.items():
        if torch.is_tensor(value):
            assert padded[key].shape == value.shape, key
            torch.testing.assert_close(padded[key].float(), value.float(), atol=1e-4,
                                       rtol=1e-4, msg=key)
