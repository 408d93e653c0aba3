"""The web demo in a real browser (issue 19): headless Chromium from the system's packages
(``bash tools/setup_browser.sh``) driven by selenium against ``demo/web_demo.py`` serving the
tiny models on a free port. A swap, its result and provenance, a face pick, the intermediate
steps, one-line messages for bad inputs, and two sessions at once. Writes the screenshots of
docs/en/web_demo.md (``docs/en/_static/web_demo_*.png``)."""
import io
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.test_apis.media_fixtures import (ASTRONAUT, CARPHONE, astronaut, scene, talking_clip,
                                            write_clip)
from tests.test_tools.tool_loader import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHOTS = osp.join(ROOT, 'docs', 'en', '_static')
SCRATCH = osp.join(tempfile.gettempdir(), 'headswap_web_shots')  # overwritten each run
SOURCES = [osp.join(CARPHONE, f'{i:06d}.jpg') for i in (0, 9)]
WAIT = 90  # seconds for one swap on a busy 2-core CI machine


def _browser_paths():
    chrome = shutil.which('chromium') or shutil.which('chromium-browser')
    driver = shutil.which('chromedriver') or '/usr/bin/chromedriver'
    if not chrome or not osp.exists(driver):
        pytest.fail('headless Chromium is missing: run `bash tools/setup_browser.sh` '
                    '(apt-get install chromium chromium-driver)')
    return chrome, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """``(url, log path)`` of the web demo on the untrained tiny checkpoints."""
    tmp = tmp_path_factory.mktemp('web_demo')
    load_tool('tools/misc/make_tiny_checkpoints.py').make_tiny_checkpoints(
        str(tmp / 'tiny'), iters=0)
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, GRADIO_TEMP_DIR=str(tmp / 'gradio'))
    log_path = tmp / 'server.log'
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, 'demo/web_demo.py', '--checkpoint-dir', str(tmp),
             '--port', str(port), '--max-megapixels', '1', '--no-c2pa',
             '--tmp-dir', str(tmp / 'sessions')],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f'the web demo did not start:\n{log_path.read_text()[-3000:]}')
            time.sleep(0.5)
    yield url, log_path, tmp
    proc.terminate()
    proc.wait(timeout=30)
    text = log_path.read_text()
    assert 'unexpected error' not in text, text[-3000:]


def _driver(url):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    chrome, driver = _browser_paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                '--window-size=1280,1000', '--disable-gpu'):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    d.get(url)
    _wait(d, lambda: d.find_elements('css selector', '#sources input[type=file]'), 60)
    return d


def _wait(d, cond, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(d, timeout, poll_frequency=0.2).until(lambda _: cond())


def _status(d) -> str:
    return d.find_element('css selector', '#status textarea').get_attribute('value')


def _upload(d, elem_id, paths):
    for button in d.find_elements('css selector', f'#{elem_id} button[aria-label="Clear"]'):
        button.click()  # a file is there: remove it, which shows the upload input again
    _wait(d, lambda: d.find_elements('css selector', f'#{elem_id} input[type=file]'), 10)
    d.find_element('css selector', f'#{elem_id} input[type=file]').send_keys('\n'.join(paths))


def _load(d, sources, target, target_faces=1):
    """Upload, and wait until the face galleries show the faces found."""
    _upload(d, 'sources', sources)
    _wait(d, lambda: len(d.find_elements('css selector', '#source-faces img')) >= len(sources))
    _upload(d, 'target', [target])
    if target_faces:
        _wait(d, lambda: len(d.find_elements('css selector', '#target-faces img')) == target_faces)


def _swap(d) -> str:
    before = _status(d)
    d.find_element('css selector', '#swap').click()
    _wait(d, lambda: _status(d) != before and _status(d).split(':')[0] in (
        'Done', 'Error', 'Internal error'))
    return _status(d)


def _result(d) -> bytes:
    src = d.find_element('css selector', '#result img').get_attribute('src')
    with urllib.request.urlopen(src) as r:
        data = r.read()
    return data


def _screenshot(d, name):
    """Into ``docs/en/_static`` with ``HEADSWAP_UPDATE_SCREENSHOTS=1`` (so that a plain test
    run leaves the working tree clean), else into a temporary folder: taken either way."""
    folder = SHOTS if os.environ.get('HEADSWAP_UPDATE_SCREENSHOTS') == '1' else SCRATCH
    height = d.execute_script('return document.body.scrollHeight')
    d.set_window_size(1280, min(max(height + 40, 800), 1400))
    d.execute_script('window.scrollTo(0, 0)')
    im = Image.open(io.BytesIO(d.get_screenshot_as_png())).convert('RGB')
    im = im.resize((im.width * 3 // 4, im.height * 3 // 4), Image.LANCZOS)
    os.makedirs(folder, exist_ok=True)
    im.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(
        osp.join(folder, name), optimize=True)
    assert osp.getsize(osp.join(folder, name)) > 1000


@pytest.fixture(scope='module')
def browser(server):
    d = _driver(server[0])
    yield d
    d.quit()


def test_swap_in_browser(server, browser, tmp_path):
    d = browser
    _load(d, SOURCES, ASTRONAUT)
    d.find_elements('css selector', '#source-faces button.thumbnail-item')[1].click()
    d.find_elements('css selector', '#target-faces button.thumbnail-item')[0].click()
    picked = 'Faces chosen: source 2: face 1, target: face 1'
    _wait(d, lambda: d.find_element('css selector', '#picked').text == picked, 10)
    d.find_element('css selector', '#show-steps input').click()
    status = _swap(d)
    assert status.startswith('Done: 1/1 frame(s) swapped with 2 source'), status
    out = tmp_path / 'result.png'
    out.write_bytes(_result(d))
    result = cv2.imread(str(out))[..., ::-1]
    target = astronaut()
    assert result.shape == target.shape
    assert np.abs(result.astype(int) - target).mean() > 1.0  # the head was replaced
    from headswap.provenance import read_provenance
    assert read_provenance(str(out))['synthetic']  # the writers' marks reach the page
    steps = d.find_elements('css selector', '#steps img')
    assert len(steps) >= 5  # source crops, aligned crop, parsing, stage-1 head, blend, ...
    assert d.find_element('css selector', '#download').is_enabled()
    _screenshot(d, 'web_demo_swap.png')


def test_bad_inputs_give_one_line(server, browser, tmp_path):
    d = browser
    d.refresh()
    _wait(d, lambda: d.find_elements('css selector', '#sources input[type=file]'), 60)
    blank = tmp_path / 'wall.png'
    cv2.imwrite(str(blank), scene(320, 240))
    _load(d, SOURCES[:1], str(blank), target_faces=0)
    _wait(d, lambda: 'No face found in the target' in _status(d))
    status = _swap(d)
    assert status.startswith('Error: no face found in the target'), status
    _screenshot(d, 'web_demo_no_face.png')
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8 not really a jpeg')
    _upload(d, 'target', [str(broken)])
    _wait(d, lambda: 'not a readable image' in _status(d))
    big = tmp_path / 'big.png'  # the server takes at most 1 megapixel
    cv2.imwrite(str(big), scene(1400, 1000))
    _upload(d, 'target', [str(big)])
    _wait(d, lambda: 'too large' in _status(d))
    assert 'big.png' in _status(d) and str(tmp_path) not in _status(d)
    page = d.page_source
    assert 'Traceback' not in page and 'File "' not in page


def test_video_swap(server, browser, tmp_path):
    d = browser
    d.refresh()
    _wait(d, lambda: d.find_elements('css selector', '#sources input[type=file]'), 60)
    clip = str(tmp_path / 'clip.mp4')
    write_clip(clip, talking_clip(8))
    _load(d, SOURCES[:1], clip)
    status = _swap(d)
    assert status.startswith('Done: 8/8 frame(s) swapped'), status
    video = d.find_element('css selector', '#result-video video')
    assert video.get_attribute('src').endswith('.mp4')
    assert not d.find_element('css selector', '#result').is_displayed()


def test_two_sessions_get_their_own_results(server, tmp_path):
    url, _, tmp = server
    small = tmp_path / 'small.png'  # a second target of another size: results tell apart
    cv2.imwrite(str(small), cv2.resize(cv2.imread(ASTRONAUT), (352, 288)))
    before = set(os.listdir(tmp / 'sessions'))
    drivers = [_driver(url), _driver(url)]
    try:
        for d, target in zip(drivers, (ASTRONAUT, str(small))):
            _load(d, SOURCES[:1], target)
        for d in drivers:  # both queued at once; the model runs one swap at a time
            d.find_element('css selector', '#swap').click()
        for d in drivers:
            _wait(d, lambda: _status(d).startswith(('Done', 'Error')))
            assert _status(d).startswith('Done'), _status(d)
        shapes = []
        for d in drivers:
            arr = np.frombuffer(_result(d), np.uint8)
            shapes.append(cv2.imdecode(arr, cv2.IMREAD_COLOR).shape)
        assert shapes == [(512, 512, 3), (288, 352, 3)]
        ours = set(os.listdir(tmp / 'sessions')) - before
        assert len(ours) == 2  # one private folder per session
    finally:
        for d in drivers:
            d.quit()
    deadline = time.time() + 20  # closed tabs: their folders go
    while ours & set(os.listdir(tmp / 'sessions')) and time.time() < deadline:
        time.sleep(0.5)
    assert not ours & set(os.listdir(tmp / 'sessions'))
