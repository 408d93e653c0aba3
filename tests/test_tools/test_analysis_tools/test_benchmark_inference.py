"""benchmark_inference.py runs (tiny, CPU) without mmpose or mmagic, as on the GPU host."""
import json

import pytest

from tests.conftest import run_tool

BLOCK = ('import sys, runpy; sys.modules["mmpose"] = None; sys.modules["mmagic"] = None; '
         'sys.argv = ["benchmark_inference.py"] + sys.argv[1:]; '
         'runpy.run_path("tools/analysis_tools/benchmark_inference.py", run_name="__main__")')


def test_tiny_benchmark_without_mmpose_and_mmagic(tmp_path):
    models = tmp_path / 'models'
    run_tool(['tools/analysis_tools/benchmark_inference.py', '--export-models', str(models)])
    assert sorted(p.name for p in models.iterdir()) == [
        'face_detection_yunet_2023mar_int8bq.onnx', 'face_landmark.tflite',
        'selfie_segmentation.tflite']
    out = tmp_path / 'bench.json'
    proc = run_tool(['-c', BLOCK, '--tiny', '--models-dir', str(models), '--frames', '8',
                     '--warmup-frames', '4',
                     '--precisions', 'fp32,bf16', '--modes', 'sequential,pipelined',
                     '--out', str(out), '--profile', str(tmp_path / 'prof')], timeout=600)
    assert '| precision | mode | decode |' in proc.stdout
    result = json.loads(out.read_text())
    rows = result['rows']
    assert [(r['precision'], r['mode']) for r in rows] == [
        ('fp32', 'sequential'), ('fp32', 'pipelined'), ('bf16', 'sequential'),
        ('bf16', 'pipelined')]
    for r in rows:
        assert r['frames'] == 8 and r['swapped'] == 8 and r['fps'] > 0
        assert set(r['ms']) == {'decode', 'detect', 'landmarks', 'align', 'parse', 'stage1',
                                'stage2', 'paste_back', 'watermark', 'encode'}
        assert all(r['ms'][k] > 0 for k in ('detect', 'stage1', 'stage2', 'encode'))
    assert result['baseline'] == rows[0]
    # --profile: operator tables per variant and host-side counts per frame; autocast adds
    # dtype casts (the numbers the bf16 sequential question needs on a GPU)
    assert '| precision | mode | aten operators |' in proc.stdout
    for r in rows:
        assert (tmp_path / 'prof' / f'{r["precision"]}_{r["mode"]}.txt').is_file()
        assert r['profile']['operators'] > 100
    fp32, bf16 = rows[0]['profile'], rows[2]['profile']
    assert bf16['casts'] > fp32['casts']


def test_isolate_runs_each_variant_in_its_own_process(tmp_path, monkeypatch):
    """--isolate: one process per (precision, mode), with the other arguments unchanged."""
    import subprocess

    from tests.test_tools.tool_loader import load_tool
    tool = load_tool('tools/analysis_tools/benchmark_inference.py')
    calls = []

    def fake_run(cmd):
        calls.append(cmd)
        i = cmd.index('--precisions')
        row = dict(precision=cmd[i + 1], mode=cmd[cmd.index('--modes') + 1])
        with open(cmd[cmd.index('--out') + 1], 'w') as f:
            json.dump(dict(rows=[row]), f)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, 'run', fake_run)
    argv = ['--tiny', '--isolate', '--precisions=fp32,bf16', '--modes', 'sequential,pipelined',
            '--out', 'x.json', '--frames', '8']
    rows = tool.isolated_rows(argv, [('bf16', 'pipelined', None), ('fp32', 'sequential', None)])
    assert [(r['precision'], r['mode']) for r in rows] == [('bf16', 'pipelined'),
                                                           ('fp32', 'sequential')]
    for cmd in calls:
        assert cmd[2:5] == ['--tiny', '--frames', '8']  # the rest, without the variant options
        assert cmd.count('--precisions') == 1 and cmd.count('--out') == 1
        assert '--isolate' not in cmd and 'x.json' not in cmd

    # several warping backends: each process gets its own one, not the list
    calls.clear()
    argv += ['--warping-backend', 'blocked,varlen']
    tool.isolated_rows(argv, [('fp32', 'sequential', 'blocked'), ('fp32', 'sequential', 'varlen'),
                              ('bf16', 'pipelined', None)])
    assert [c[c.index('--warping-backend') + 1] if '--warping-backend' in c else None
            for c in calls] == ['blocked', 'varlen', None]
    assert all(c.count('--warping-backend') <= 1 and 'blocked,varlen' not in c for c in calls)

    def failing_run(cmd):
        return subprocess.CompletedProcess(cmd, 3)

    monkeypatch.setattr(subprocess, 'run', failing_run)
    with pytest.raises(SystemExit, match=r'fp32 sequential varlen process failed \(exit 3\)'):
        tool.isolated_rows(argv, [('fp32', 'sequential', 'varlen')])


def test_warping_backends_list_and_table(capsys):
    """--warping-backend takes a list (every precision and mode with each backend, the first
    backend's fp32 sequential the baseline); the table names the backend only when several
    ran; an unknown name is refused by the parser."""
    from tests.test_tools.tool_loader import load_tool
    tool = load_tool('tools/analysis_tools/benchmark_inference.py')
    assert tool.parse_args(['--warping-backend', 'blocked,varlen']).warping_backend == [
        'blocked', 'varlen']
    assert tool.parse_args([]).warping_backend == [None]
    with pytest.raises(SystemExit):
        tool.parse_args(['--warping-backend', 'blocked,fast'])
    assert "unknown warping backend 'fast'" in capsys.readouterr().err

    ms = {k: 1.0 for k in tool.STAGES}
    rows = [dict(precision=p, mode='pipelined', warping=w, fps=f, ms=ms)
            for p, w, f in (('fp32', 'blocked', 10.0), ('bf16', 'blocked', 20.0),
                            ('bf16', 'varlen', 40.0))]
    tool.print_table(rows, rows[0], target_fps=30)
    out = capsys.readouterr().out
    assert '| precision | mode | warping | decode |' in out
    assert '| bf16 | pipelined | varlen | ' in out and '| 40.0 | 4.00x |' in out
    assert 'baseline: fp32 pipelined blocked, 10.0 fps' in out
    assert 'MET (40.0 fps)' in out  # the fastest bf16 pipelined row
    tool.print_table(rows[:2], rows[0], target_fps=None)
    assert '| warping |' not in capsys.readouterr().out
