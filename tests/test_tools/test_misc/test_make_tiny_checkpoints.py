"""tools/misc/make_tiny_checkpoints.py: the stages side by side, and its errors in one line."""
from tests.conftest import run_tool

TOOL = 'tools/misc/make_tiny_checkpoints.py'
ALIGNER = 'configs/head2head/head2head_aligner_tiny-lmk_1xb2-1k_sample-32.py'


def test_a_failing_stage_is_one_line_naming_it_and_its_log(tmp_path):
    """Two stages in processes of their own: the one whose run folder cannot be made fails,
    the other still writes its checkpoint, and the error names the failed one and its log."""
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'head2head_aligner_tiny').write_text('a file where its run folder goes')
    proc = run_tool([TOOL, '--iters', '2', '--jobs', '2', '--out', str(tmp_path / 'out'),
                     '--work-dir', str(work)], check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert 'Traceback' not in proc.stderr
    assert f'training failed: {ALIGNER} (exit 1): FileExistsError' in line
    assert str(work / 'head2head_aligner_tiny.log') in line
    assert (tmp_path / 'out' / 'head2scene_blender_tiny.pth').is_file()
    assert not (tmp_path / 'out' / 'head2head_aligner_tiny.pth').exists()


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / 'taken').write_text('')
    proc = run_tool([TOOL, '--iters', '0', '--out', str(tmp_path / 'taken' / 'out')],
                    check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f'make_tiny_checkpoints.py: error: {tmp_path}/taken/out: cannot create the --out folder')
