from tests.conftest import run_tool

TINY = 'configs/head2head/head2head_aligner_tiny_1xb2-1k_sample-32.py'


def test_single_process_smoke_trains_resumes_and_reports(tmp_path):
    """``LAUNCHER=none`` (tools/train.py in one process, as for the CUDA-graph fine-tuning
    runs): train to ITERS/2, resume to ITERS, report the speed from per-window times."""
    work = tmp_path / 'smoke'
    proc = run_tool(['tools/analysis_tools/dist_smoke.sh', TINY, '1', '4', str(work),
                     'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                     'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False'],
                    env=dict(LAUNCHER='none', NO_TEST='1', BATCH='2'))
    assert 'resumed at iteration 2; first logged iteration after resume: 3; last: 4' in \
        proc.stdout, proc.stdout
    assert 'images/s per GPU' in proc.stdout
    assert (work / 'iter_4.pth').is_file() and not (work / 'test.log').exists()
    # the log window is the logging interval, not the config's 50 iterations
    assert 'window_size=1' in (work / 'first.log').read_text()
