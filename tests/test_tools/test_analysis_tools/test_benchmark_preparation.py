from tests.conftest import run_tool

TOOL = 'tools/analysis_tools/benchmark_preparation.py'


def test_synthetic_720p_clips_and_setting_variants_in_one_table():
    proc = run_tool([TOOL, '--config', 'configs/data_preparation/talking_heads_offline.py',
                     '--resolution', '720p', '--frames', '6', '--clips', '1', '--variants',
                     'io_threads=0,frame_cache_mb=0', 'default', '--batch-size', '4'])
    rows = [line.split() for line in proc.stdout.splitlines()
            if line.split()[:1] == ['cpu']]
    # device, workers, frames, seconds, fps, vs first, settings
    assert [(r[2], r[6]) for r in rows] == [('6', 'io_threads=0,frame_cache_mb=0'),
                                            ('6', 'default')], proc.stdout
    assert rows[0][5] == '1.00x' and all(float(r[4]) > 0 for r in rows)
    assert '720p' in proc.stdout
    proc = run_tool([TOOL, '--variants', 'io_threads'], check=False)
    assert proc.returncode == 2 and 'expected key=value' in proc.stderr
