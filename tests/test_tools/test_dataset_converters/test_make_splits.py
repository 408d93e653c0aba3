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
