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
    rows = tool.isolated_rows(argv, [('bf16', 'pipelined'), ('fp32', 'sequential')])
    assert [(r['precision'], r['mode']) for r in rows] == [('bf16', 'pipelined'),
                                                           ('fp32', 'sequential')]
    for cmd in calls:
        assert cmd[2:5] == ['--tiny', '--frames', '8']  # the rest, without the variant options
        assert cmd.count('--precisions') == 1 and cmd.count('--out') == 1
        assert '--isolate' not in cmd and 'x.json' not in cmd

    def failing_run(cmd):
        return subprocess.CompletedProcess(cmd, 3)

    monkeypatch.setattr(subprocess, 'run', failing_run)
    with pytest.raises(SystemExit, match=r'fp32 sequential process failed \(exit 3\)'):
        tool.isolated_rows(argv, [('fp32', 'sequential')])
