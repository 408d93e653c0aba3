import json

from PIL import Image

from headswap.provenance import Provenance, write_image
from tests.conftest import run_tool
from .conftest import photo


def test_detector_cli_on_marked_unmarked_and_bad_files(tmp_path):
    marked = write_image(str(tmp_path / 'marked.jpg'), photo('chelsea'), Provenance(c2pa=False))
    plain = tmp_path / 'plain.png'
    Image.fromarray(photo('coffee')).save(plain)
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'garbage')
    env = {'HEADSWAP_CACHE': str(tmp_path / 'cache')}
    proc = run_tool(['tools/misc/detect_watermark.py', marked, str(plain)], env=env)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f'{marked}: WATERMARKED')
    assert 'synthetic, made by headswap' in lines[1]
    assert lines[2].startswith(f'{plain}: no watermark')
    assert 'metadata: none found' in lines[3]

    proc = run_tool(['tools/misc/detect_watermark.py', '--json', str(bad), marked], env=env,
                    check=False)
    assert proc.returncode == 2
    assert f'{bad}: error: cannot read image' in proc.stderr
    assert 'Traceback' not in proc.stderr
    info = json.loads(proc.stdout)
    assert info['watermark']['detected'] and info['metadata']['synthetic']
