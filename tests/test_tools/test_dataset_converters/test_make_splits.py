import filecmp
import json

from tests.conftest import REPO, run_tool


def test_sample_splits_are_what_the_tool_writes(tmp_path):
    run_tool(['tools/dataset_converters/make_splits.py', 'data/sample', '--out-dir',
              str(tmp_path)])
    for name in ('self_reenactment', 'cross_identity', 'reconstruction'):
        assert filecmp.cmp(tmp_path / f'{name}.json', f'{REPO}/data/sample/splits/{name}.json',
                           shallow=False), name


def test_protocol_rules_and_limits(tmp_path):
    run_tool(['tools/dataset_converters/make_splits.py', 'data/sample', '--out-dir',
              str(tmp_path), '--max-sources', '4', '--min-sources', '2',
              '--max-driver-frames', '5'])
    cross = json.loads((tmp_path / 'cross_identity.json').read_text())
    for pair in cross['pairs']:
        src_ids = {f.split('/')[0] for f in pair['source_frames']}
        assert pair['driver_clip'].split('/')[0] not in src_ids
        assert 2 <= len(pair['source_frames']) <= 4 and len(pair['driver_frames']) <= 5
    # astronaut has one photo: as a source (1 frame) it is below --min-sources
    assert [p['driver_clip'] for p in cross['pairs']] == ['astronaut/photos/00000']
    own = json.loads((tmp_path / 'self_reenactment.json').read_text())
    for pair in own['pairs']:
        video = pair['driver_clip'].split('/')[1]
        assert all(f.split('/')[1] != video for f in pair['source_frames'])  # other videos
    assert own['metainfo']['num_samples'] == sum(len(p['driver_frames']) for p in own['pairs'])


# hand-made index: (identity, video, clip) -> frame numbers
LAYOUT = {('A', 'v1', 'c1'): [0, 1, 2], ('A', 'v2', 'c1'): [4, 8],
          ('B', 'v1', 'c1'): list(range(10)), ('B', 'v1', 'c2'): [5, 6],
          ('C', 'p', '00000'): [0]}


def _frames(*clips):
    return {f'{"/".join(c)}/{f}' for c in clips for f in LAYOUT[c]}


def test_splits_match_hand_computed_pairs(tmp_path):
    """Expected pairs written out by hand from the protocol rules (not from the tool's output).

    self_reenactment: sources from the identity's other videos, else its other clips; C has
    one clip and no pair. cross_identity: identities sorted A, B, C; A's clips are sourced from
    B, B's from C, C's from A. reconstruction: clips of >= 2 frames, no sources.
    ``--max-driver-frames 4`` of B/v1/c1's frames 0..9: round(linspace(0, 9, 4)) = 0, 3, 6, 9.
    """
    data_list = [dict(identity=i, video=v, clip=c, frame=f, img_path=f'frames/{i}/{v}/{c}/{f}')
                 for (i, v, c), frames in LAYOUT.items() for f in frames]
    (tmp_path / 'index.json').write_text(json.dumps(dict(metainfo={}, data_list=data_list)))
    run_tool(['tools/dataset_converters/make_splits.py', str(tmp_path), '--out-dir',
              str(tmp_path / 'splits'), '--max-driver-frames', '4'])
    a1, a2, b1, b2, c = LAYOUT
    expected = {
        'self_reenactment': {a1: _frames(a2), a2: _frames(a1), b1: _frames(b2), b2: _frames(b1)},
        'cross_identity': {a1: _frames(b1, b2), a2: _frames(b1, b2), b1: _frames(c),
                           b2: _frames(c), c: _frames(a1, a2)},
        'reconstruction': {a1: set(), a2: set(), b1: set(), b2: set()},
    }
    driver_frames = {a1: [0, 1, 2], a2: [4, 8], b1: [0, 3, 6, 9], b2: [5, 6], c: [0]}
    for protocol, pairs in expected.items():
        got = json.loads((tmp_path / 'splits' / f'{protocol}.json').read_text())
        assert [p['driver_clip'] for p in got['pairs']] == ['/'.join(k) for k in pairs], protocol
        for pair, (clip, sources) in zip(got['pairs'], pairs.items()):
            # every frame of the source clips, each once (in a seeded order)
            assert len(pair['source_frames']) == len(sources), (protocol, clip)
            assert set(pair['source_frames']) == sources, (protocol, clip)
            assert pair['driver_frames'] == driver_frames[clip], (protocol, clip)
        assert got['metainfo']['num_samples'] == sum(len(driver_frames[k]) for k in pairs)
    # K-shot: with --max-sources 3 every pair lists the first 3 of its full list
    run_tool(['tools/dataset_converters/make_splits.py', str(tmp_path), '--out-dir',
              str(tmp_path / 'k3'), '--max-sources', '3', '--protocols', 'cross_identity'])
    full = json.loads((tmp_path / 'splits' / 'cross_identity.json').read_text())['pairs']
    k3 = json.loads((tmp_path / 'k3' / 'cross_identity.json').read_text())['pairs']
    assert [p['source_frames'] for p in k3] == [p['source_frames'][:3] for p in full]
