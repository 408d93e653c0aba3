"""benchmark_inference.py runs (tiny, CPU) without mmpose or mmagic, as on the GPU host."""
import json

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
