"""A web page to try head swapping: upload sources and a target, pick the faces, swap.

    python demo/web_demo.py [--config configs/inference/headswap_offline_tiny-64.py]
        [--weights HEADSWAPPER.pth] [--checkpoint-dir DIR ...] [--port 7860] [--host 127.0.0.1]
        [--device cpu|cuda] [--max-file-mb 50] [--max-megapixels 40] [--max-video-seconds 30]

Serves on http://HOST:PORT (localhost by default). The checkpoints offered are the config's own
stage checkpoints, ``--weights`` and what ``--checkpoint-dir`` folders hold (default:
checkpoints/ and work_dirs/); each is loaded once, on first use. One swap runs at a time (a
queue); every session writes into its own temporary folder, removed when the session ends.
Outputs carry the provenance marks of every headswap output (watermark + metadata). Bad input
is reported in one line on the page; tracebacks go to the server log only.
See docs/en/web_demo.md.
"""
import argparse
import glob
import logging
import os
import os.path as osp
import sys
import traceback

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
log = logging.getLogger('headswap.web_demo')

INTRO = """# headswap: few-shot head swapping
Upload 1..K photos of the person to insert (**sources**) and a photo or short video of the
scene (**target**), click the face to use in each, then **Swap**. Every output is marked as
synthetic (metadata + invisible watermark). Please swap only people who agreed to it."""
STEP_NAMES = ('target_crop', 'target_parsing', 'head', 'head_parsing', 'head_over_scene',
              'blended', 'paste_mask')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Web demo of headswap (Gradio)')
    p.add_argument('--config', default='configs/inference/headswap_offline_tiny-64.py',
                   help='inference config (stage configs, face analysis)')
    p.add_argument('--weights', help='a HeadSwapper checkpoint (both stages), offered first')
    p.add_argument('--checkpoint-dir', nargs='+', default=['checkpoints', 'work_dirs'],
                   help='folders searched for checkpoints')
    p.add_argument('--device', help="'cuda', 'cpu' (default: CUDA when present)")
    p.add_argument('--host', default='127.0.0.1', help='address to serve on')
    p.add_argument('--port', type=int, default=7860)
    p.add_argument('--max-file-mb', type=float, default=50.0)
    p.add_argument('--max-megapixels', type=float, default=40.0)
    p.add_argument('--max-video-seconds', type=float, default=30.0)
    p.add_argument('--tmp-dir', help='where session folders go (default: a new temporary '
                   'folder, removed at exit)')
    p.add_argument('--keep-models', type=int, default=1, help='loaded checkpoints kept')
    p.add_argument('--no-c2pa', action='store_true', help='skip the C2PA manifest (faster)')
    return p.parse_args(argv)


class WebDemo:
    """The page's callbacks over a :class:`ModelCatalog`, session folders and upload limits."""

    def __init__(self, args):
        from headswap.apis.demo_sessions import SessionFolders, UploadLimits
        from headswap.apis.model_catalog import ModelCatalog, find_models
        self.args = args
        self.limits = UploadLimits(args.max_file_mb, args.max_megapixels,
                                   args.max_video_seconds)
        self.sessions = SessionFolders(args.tmp_dir)
        entries = find_models(args.config, args.checkpoint_dir, args.weights, root=ROOT)
        self.catalog = ModelCatalog(entries, self._build, keep=args.keep_models)

    def _build(self, entry):
        from headswap.apis import HeadSwapInferencer
        from headswap.provenance import Provenance
        log.info('loading %s', entry.label)
        prov = Provenance(c2pa=not self.args.no_c2pa, note='demo/web_demo.py')
        return HeadSwapInferencer(entry.config, weights=entry.weights, device=self.args.device,
                                  provenance=prov, cfg_options=entry.cfg_options or None,
                                  show_progress=True)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _one_line(e: Exception, paths) -> str:
        """The error's first line with upload / session paths shortened to file names."""
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        for p in sorted((p for p in paths if p), key=len, reverse=True):
            msg = msg.replace(p, osp.basename(p))
        return msg

    def _guard(self, fn, paths, *args):
        """``(result, None)`` or ``(None, one-line message)``; tracebacks go to the log."""
        from headswap.errors import CheckpointError, UserError
        try:
            return fn(*args), None
        except (UserError, CheckpointError) as e:
            return None, 'Error: ' + self._one_line(e, list(paths) + [self.sessions.root])
        except Exception as e:  # never a traceback in the page
            log.error('unexpected error\n%s', traceback.format_exc())
            return None, (f'Internal error ({type(e).__name__}); the details are in the '
                          'server log.')

    def _faces(self, path: str, label: str, what: str, allow_video: bool):
        from headswap.apis.demo_sessions import check_upload
        from headswap.apis.face_gallery import face_thumbnails, first_frame
        check_upload(path, self.limits, what, allow_video)
        image = first_frame(path)
        with self.catalog.lock:
            thumbs = face_thumbnails(self.catalog.get(label).analysis, image)
        return image, thumbs

    # ---------------------------------------------------------------- callbacks
    def on_sources(self, files, label):
        """Sources uploaded: a gallery of their faces and the map gallery item -> (file, face)."""
        files = [f if isinstance(f, str) else f.name for f in files or []]

        def run():
            items, where, notes = [], [], []
            for i, path in enumerate(files):
                _, thumbs = self._faces(path, label, f'source {i + 1}', False)
                if not thumbs:
                    notes.append(f'source {i + 1} ({osp.basename(path)}): no face found')
                for j, t in enumerate(thumbs):
                    items.append((t, f'S{i + 1} · {j + 1}'))
                    where.append((i, j))
            return items, where, notes
        out, err = self._guard(run, files)
        if err:
            return [], [], {}, err
        items, where, notes = out
        text = '; '.join(notes) or (f'{len(items)} face(s) in {len(files)} source photo(s); '
                                    'the largest face of each is used unless you click '
                                    'another.' if files else '')
        return items, where, {}, text

    def on_target(self, path, label):
        if not path:
            return None, [], None, ''
        out, err = self._guard(self._faces, [path], path, label, 'target', True)
        if err:
            return None, [], None, err
        image, thumbs = out
        text = (f'{len(thumbs)} face(s) in the target; the largest is replaced unless you '
                'click another.' if thumbs else 'No face found in the target: use a photo '
                'where a face is visible.')
        return image, [(t, f'face {j + 1}') for j, t in enumerate(thumbs)], None, text

    @staticmethod
    def picks_text(source_picks, target_pick) -> str:
        chosen = [f'source {k + 1}: face {v + 1}' for k, v in sorted((source_picks or {}).items())]
        chosen += [] if target_pick is None else [f'target: face {target_pick}']
        return 'Faces chosen: ' + ', '.join(chosen) if chosen else ''

    def on_pick_source(self, evt, where, picks, target_pick):
        i, j = where[evt.index]
        picks = dict(picks or {})
        picks[i] = j
        return picks, self.picks_text(picks, target_pick)

    def on_pick_target(self, evt, source_picks):
        return evt.index + 1, self.picks_text(source_picks, evt.index + 1)

    def swap(self, files, target, source_picks, target_pick, label, precision, hair,
             smoothing, intermediates, session):
        """One swap of ``session`` (an id): ``(status, result image, result video, download,
        steps)``."""
        files = [f if isinstance(f, str) else f.name for f in files or []]
        run_dir = self.sessions.new_run(session)
        out, err = self._guard(self._swap, files + [target, run_dir], files, target,
                               source_picks or {}, target_pick, label, precision, hair,
                               smoothing, intermediates, run_dir)
        if err:
            return err, None, None, None, []
        status, output, kind, steps = out
        return (status, output if kind == 'image' else None,
                output if kind == 'video' else None, output, steps)

    def _swap(self, files, target, source_picks, target_pick, label, precision, hair,
              smoothing, intermediates, run_dir):
        from headswap.apis.demo_sessions import check_upload
        from headswap.apis.face_gallery import keep_one_face
        from headswap.apis.media import read_image
        from headswap.errors import UserError
        if not files:
            raise UserError('upload at least one source photo of the person to insert')
        if not target:
            raise UserError('upload a target photo or video')
        for i, f in enumerate(files):
            check_upload(f, self.limits, f'source {i + 1}', allow_video=False)
        kind = check_upload(target, self.limits, 'target')
        out = osp.join(run_dir, 'swap' + ('.mp4' if kind == 'video' else '.png'))
        steps_dir = osp.join(run_dir, 'steps') if intermediates else None
        with self.catalog.lock:
            inf = self.catalog.get(label)
            sources = []
            for i, f in enumerate(files):  # a clicked face: the others are covered
                j = source_picks.get(i, source_picks.get(str(i)))
                sources.append(f if j is None else keep_one_face(inf.analysis, read_image(f), j))
            sigma = inf.analysis.smooth_sigma
            inf.bf16 = precision == 'bf16'
            inf.analysis.smooth_sigma = sigma if smoothing else 0.0
            try:
                result = inf(target, sources=sources, out=out, hair_color=hair,
                             target_face='largest' if target_pick is None else int(target_pick),
                             save_intermediates=steps_dir)
            finally:
                inf.analysis.smooth_sigma = sigma
            used = len(inf.sources['names'])
        s = result['predictions'][0]
        if s['status'] != 'ok':
            if s['swapped'] == 0 and 'face_index_out_of_range' in s['skipped']:
                raise UserError(f'the target has no face {target_pick} (faces are numbered '
                                'from 1, left to right); pick one of the thumbnails')
            if s['swapped'] == 0:
                raise UserError('no face found in the target (nothing to swap): use a photo '
                                'or video where a face is clearly visible')
            raise UserError(s['error'])
        status = (f'Done: {s["swapped"]}/{s["frames"]} frame(s) swapped with {used} source '
                  f'face(s) in {s["seconds"]:.1f} s'
                  + (f'; {s["no_face"]} frame(s) without a face left as they were'
                     if s['no_face'] else '') + '. The result is marked as synthetic.')
        return status, out, kind, self._steps(steps_dir)

    @staticmethod
    def _steps(folder):
        """``[(png, caption)]``: the aligned source crops, then each saved frame's steps."""
        if not folder:
            return []
        items = []
        for path in sorted(glob.glob(osp.join(folder, '*.png'))):
            name = osp.splitext(osp.basename(path))[0]
            if name.startswith('source_'):
                items.append(((-1, int(name.split('_')[1])), path,
                              f'source {int(name.split("_")[1]) + 1}'))
                continue
            for k, step in enumerate(STEP_NAMES):
                frame = name[:-len(step) - 1].rsplit('_', 1)[-1]
                if name.endswith('_' + step) and frame.isdigit():
                    items.append(((int(frame), k), path, step.replace('_', ' ')
                                  + (f' (frame {int(frame)})' if int(frame) else '')))
        return [(path, caption) for _, path, caption in sorted(items)]


def build_page(app: WebDemo):
    import gradio as gr

    # uploads and outputs gradio copies into its cache are deleted after an hour
    with gr.Blocks(title='headswap web demo', analytics_enabled=False,
                   delete_cache=(600, 3600)) as page:
        where, source_picks, target_pick = gr.State([]), gr.State({}), gr.State(None)
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                sources = gr.File(label='Source photos (1..K) of the person to insert',
                                  file_count='multiple', file_types=['image'],
                                  elem_id='sources')
                source_faces = gr.Gallery(label='Faces in the sources (S2 · 1: photo 2, face 1); '
                                          'click one per photo',
                                          columns=6, height=140, elem_id='source-faces',
                                          allow_preview=False)
                target = gr.File(label='Target photo or short video', type='filepath',
                                 file_types=['image', 'video'], elem_id='target')
                target_faces = gr.Gallery(label='Faces in the target (click the one to replace)',
                                          columns=6, height=140, elem_id='target-faces',
                                          allow_preview=False)
                picked = gr.Markdown('', elem_id='picked')
                with gr.Row():
                    model = gr.Dropdown(app.catalog.labels, value=app.catalog.labels[0],
                                        label='Checkpoint', elem_id='checkpoint')
                    precision = gr.Radio(['fp32', 'bf16'], value='fp32', label='Precision')
                with gr.Row():
                    hair = gr.Radio(['target', 'source'], value='target', label='Hair colour from')
                    smoothing = gr.Checkbox(True, label='Temporal smoothing (video)')
                    steps_on = gr.Checkbox(False, label='Show intermediate steps',
                                           elem_id='show-steps')
                go = gr.Button('Swap', variant='primary', elem_id='swap')
            with gr.Column(scale=1):
                status = gr.Textbox(label='Status', interactive=False, elem_id='status')
                with gr.Row():
                    preview = gr.Image(label='Target', interactive=False, height=320,
                                       elem_id='target-preview')
                    result = gr.Image(label='Result', type='filepath', interactive=False,
                                      height=320, elem_id='result', format='png')
                result_video = gr.Video(label='Result video', interactive=False, visible=False,
                                        elem_id='result-video')
                download = gr.DownloadButton('Download the result', interactive=False,
                                             elem_id='download')
                steps = gr.Gallery(label='Intermediate steps (aligned crop, parsing, stage-1 '
                                   'head, blended crop, ...)', columns=4, visible=False,
                                   elem_id='steps')
        model_lock = dict(concurrency_limit=1, concurrency_id='model')
        new_picks = dict(fn=app.picks_text, inputs=[source_picks, target_pick], outputs=picked)
        sources.change(app.on_sources, [sources, model],
                       [source_faces, where, source_picks, status], **model_lock
                       ).then(**new_picks)
        target.change(app.on_target, [target, model],
                      [preview, target_faces, target_pick, status], **model_lock
                      ).then(**new_picks)

        def pick_source(w, p, t, evt: gr.SelectData):
            return app.on_pick_source(evt, w, p, t)

        def pick_target(p, evt: gr.SelectData):
            return app.on_pick_target(evt, p)
        source_faces.select(pick_source, [where, source_picks, target_pick],
                            [source_picks, picked])
        target_faces.select(pick_target, source_picks, [target_pick, picked])

        def swap(files, tgt, sp, tp, label, prec, hr, sm, st, request: gr.Request,
                 progress=gr.Progress(track_tqdm=True)):
            msg, img, vid, out, shown = app.swap(files, tgt, sp, tp, label, prec, hr, sm, st,
                                                 request.session_hash)
            return (msg, gr.update(value=img, visible=vid is None),
                    gr.update(value=vid, visible=vid is not None),
                    gr.update(value=out, interactive=out is not None),
                    gr.update(value=shown, visible=bool(shown)))
        go.click(swap, [sources, target, source_picks, target_pick, model, precision, hair,
                        smoothing, steps_on],
                 [status, result, result_video, download, steps], **model_lock)

        def end_session(request: gr.Request):  # a closed tab or a reload: its folder goes
            app.sessions.remove(request.session_hash)
        page.unload(end_session)
    return page


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    os.chdir(ROOT)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s: %(message)s')
    logging.getLogger('httpx').setLevel(logging.WARNING)  # gradio's own requests
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    from headswap.utils.cli import friendly_errors
    with friendly_errors('web_demo.py'):
        try:
            import gradio  # noqa: F401
        except ImportError:
            from headswap.errors import UserError
            raise UserError('the web demo needs gradio: pip install -r requirements/web.txt '
                            '(or bash tools/setup_env.sh)') from None
        app = WebDemo(args)
        app.catalog.get()  # the first model is loaded before the page opens
        page = build_page(app)
        page.queue(default_concurrency_limit=1, max_size=32)
        try:
            page.launch(server_name=args.host, server_port=args.port, show_api=False,
                        allowed_paths=[app.sessions.root],
                        max_file_size=int(args.max_file_mb * 2**20))
        finally:
            app.sessions.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
