from tests.conftest import run_tool

TOOL = 'tools/analysis_tools/benchmark_preparation.py'


def test_synthetic_720p_clips_and_io_thread_settings_in_one_table():
    proc = run_tool([TOOL, '--config', 'configs/data_preparation/talking_heads_offline.py',
                     '--resolution', '720p', '--frames', '6', '--clips', '1',
                     '--io-threads', '0', '2', '--batch-size', '4'])
    rows = [line.split() for line in proc.stdout.splitlines()
            if line.split()[:1] == ['cpu']]
    # device, workers, io_threads, frames, seconds, fps, vs first
    assert [(r[2], r[3]) for r in rows] == [('0', '6'), ('2', '6')], proc.stdout
    assert rows[0][6] == '1.00x' and all(float(r[5]) > 0 for r in rows)
    assert '720p' in proc.stdout
