"""Tell whether images / videos carry headswap's invisible watermark and provenance metadata.

    python tools/misc/detect_watermark.py FILE [FILE ...] [--json] [--max-frames N]

For each file: the watermark decision with its z-score and threshold (videos: one decision over
up to ``--max-frames`` frames, plus the share of single frames that pass), and any provenance
metadata found (headswap XMP / PNG text / EXIF / MP4 tags, C2PA manifest). Exit status: 0 when
every file was read, 2 when a file could not be read (the others are still reported).
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Any, Dict

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('files', nargs='+', metavar='FILE', help='images or videos')
    p.add_argument('--max-frames', type=int, default=120,
                   help='frames of a video used for the decision (default 120)')
    p.add_argument('--json', action='store_true', help='print one JSON object per file')
    return p.parse_args()


def inspect(path: str, max_frames: int) -> Dict[str, Any]:
    from headswap.provenance import get_watermarker, load_rgb, media_kind, read_provenance
    from headswap.provenance.api import _spread_frames
    kind = media_kind(path)
    wm = get_watermarker()
    out: Dict[str, Any] = {'file': path, 'kind': kind}
    if kind == 'image':
        result = wm.detect_image(load_rgb(path))
    else:
        result, per_frame = wm.detect_frames(_spread_frames(path, max_frames))
        out['frames_passing'] = sum(z >= wm.threshold for z in per_frame)
    out['watermark'] = result.as_dict()
    prov = read_provenance(path)
    out['metadata'] = {'synthetic': prov['synthetic'], 'sources': prov['sources'],
                       'fields': prov['fields']}
    if prov['c2pa']:
        c = prov['c2pa']
        out['metadata']['c2pa'] = {k: c.get(k) for k in ('validation_state', 'trusted', 'signer',
                                                         'digital_source_type')}
    return out


def describe(info: Dict[str, Any]) -> str:
    wm, meta = info['watermark'], info['metadata']
    verdict = 'WATERMARKED' if wm['detected'] else 'no watermark'
    line = (f'{info["file"]}: {verdict} (score {wm["score"]:.2f}, threshold {wm["threshold"]}, '
            f'{wm["hypothesis"]}')
    if wm['hypothesis'] == 'cropped':
        line += f', scale {wm["scale"]}'
    if info['kind'] == 'video':
        line += f'; {wm["frames"]} frames, {info["frames_passing"]} pass alone'
    line += ')'
    if meta['sources']:
        f = meta['fields']
        line += (f'\n  metadata ({", ".join(meta["sources"])}): '
                 f'{"synthetic" if meta["synthetic"] else "not marked synthetic"}')
        if f.get('generator'):
            line += f', made by {f["generator"]} {f.get("version", "")}'.rstrip()
        if f.get('watermark'):
            line += f', watermark {f["watermark"]}'
        if 'c2pa' in meta:
            c = meta['c2pa']
            line += (f'\n  C2PA: {c["validation_state"]}, signer "{c["signer"]}" '
                     f'({"trusted" if c["trusted"] else "untrusted certificate"})')
    else:
        line += '\n  metadata: none found'
    return line


def main() -> int:
    args = parse_args()
    status = 0
    for path in args.files:
        try:
            info = inspect(path, args.max_frames)
        except (OSError, ValueError) as exc:
            if os.environ.get('HEADSWAP_DEBUG'):
                raise
            print(f'{path}: error: {exc}', file=sys.stderr)
            status = 2
            continue
        print(json.dumps(info) if args.json else describe(info), flush=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
