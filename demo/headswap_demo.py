"""Swap a head into images or videos from the command line.

    python demo/headswap_demo.py --sources S1.jpg [S2.jpg | FOLDER | S.mp4 ...] \\
        --target T.jpg|T.mp4|FOLDER --out OUT [--config configs/inference/headswap_offline.py]
        [--target-face largest|N|REFERENCE.jpg] [--source-face largest|N]
        [--hair-color target|source] [--num-sources K]
        [--device cuda|cpu] [--bf16] [--batch-size N] [--workers N]
        [--save-intermediates DIR] [--no-watermark] [--no-c2pa] [--cfg-options k=v ...]

Face choice: by default the largest face of every source file and target frame is used. Faces
are numbered 1, 2, ... from left to right by box centre (-1: the rightmost), counting only
confident detections (score >= 0.75); `--target-face 2` swaps the second face from the left,
`--target-face PHOTO` the face most like the person in PHOTO, `--source-face 2` takes the second
face of each source photo. A file with more than one face gets a warning naming how many.

Writes OUT (an image, a video with the target's audio, or a folder) marked as synthetic
(metadata + invisible watermark; see docs/en/provenance.md) and prints a summary per target:
frames swapped, frames passed through without a face, time and frames per second. Outputs
are moved into place only when whole and with a swapped face. Exit status 1 when a target
failed (a truncated video, no face swapped in any frame: nothing is written for it, an
existing output is left as it was), 2 for usage errors.
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Swap S\'s head into T\'s images or videos')
    p.add_argument('--sources', nargs='+', required=True,
                   help='photos, a folder of photos or a video of the person whose head is '
                   'pasted in (S)')
    p.add_argument('--target', nargs='+', required=True,
                   help='image(s), a folder of images or a video of the scene (T)')
    p.add_argument('--out', required=True,
                   help='output image / video file, or a folder for several targets')
    p.add_argument('--config', default='configs/inference/headswap_offline.py',
                   help='inference config (stage configs + checkpoints, face analysis)')
    p.add_argument('--weights', help='a HeadSwapper checkpoint (both stages) instead of the '
                   'stage checkpoints of the config')
    p.add_argument('--target-face', metavar='largest|N|PHOTO',
                   help="which target face: 'largest' (default), N = the N-th face from the "
                   'left (1 = leftmost, -1 = rightmost; confident detections only), or a photo '
                   'of the person to replace')
    p.add_argument('--source-face', metavar='largest|N', default='largest',
                   help="which face of each source file: 'largest' (default) or N (numbered "
                   'like --target-face)')
    p.add_argument('--face', help=argparse.SUPPRESS)  # deprecated: 0-based --target-face
    p.add_argument('--hair-color', choices=['target', 'source'],
                   help="keep the target's (default) or the source's hair colour")
    p.add_argument('--num-sources', type=int, help='K source frames (default: config)')
    p.add_argument('--device', help="'cuda', 'cuda:1', 'cpu' (default: CUDA when present)")
    p.add_argument('--bf16', action='store_true', help='bfloat16 autocast')
    p.add_argument('--batch-size', type=int, help='target frames per batch')
    p.add_argument('--workers', type=int, help='CPU threads for face analysis')
    p.add_argument('--save-intermediates', metavar='DIR',
                   help='also write aligned crops, parsing maps, the animated head, masks and '
                   'exemplars here')
    p.add_argument('--no-watermark', action='store_true',
                   help='do NOT watermark the pixels (recorded in the file\'s metadata)')
    p.add_argument('--no-c2pa', action='store_true', help='skip the C2PA manifest')
    p.add_argument('--sequential', action='store_true',
                   help='run the video stages in one thread (default on CPU)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. inference.feather=0.03')
    p.add_argument('--quiet', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    from headswap.utils.cli import friendly_errors
    with friendly_errors('headswap_demo.py'):
        from headswap.apis.face_selection import check_face_choice
        check_face_choice(args.source_face, '--source-face')  # before the models load
        if args.target_face is not None and args.target_face.lstrip('-').isdigit():
            check_face_choice(args.target_face, '--target-face')
        import torch

        from headswap.apis import HeadSwapInferencer
        torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick its kernels
        from headswap.provenance import Provenance
        prov = Provenance(watermark=not args.no_watermark, c2pa=not args.no_c2pa,
                          note='demo/headswap_demo.py')
        inferencer = HeadSwapInferencer(
            args.config, weights=args.weights, device=args.device, bf16=args.bf16,
            batch_size=args.batch_size, workers=args.workers, provenance=prov,
            cfg_options=args.cfg_options, show_progress=not args.quiet)
        target = args.target if len(args.target) > 1 else args.target[0]
        result = inferencer(target, sources=args.sources, out=args.out,
                            target_face=args.target_face, source_face=args.source_face,
                            face=args.face,
                            hair_color=args.hair_color, num_sources=args.num_sources,
                            save_intermediates=args.save_intermediates,
                            pipelined=False if args.sequential else None)
        sources = inferencer.sources
        print(f'sources: {len(sources["names"])} of {sources["candidates"]} faces found '
              f'({", ".join(osp.basename(n) for n in sources["names"][:8])}'
              f'{", ..." if len(sources["names"]) > 8 else ""})')
        failed = False
        for s in result['predictions']:
            skipped = ', '.join(f'{k} {v}' for k, v in s['skipped'].items())
            print(f'{s["target"]} -> {s["output"] or "(nothing written)"}: '
                  f'{s["swapped"]}/{s["frames"]} frames '
                  f'swapped' + (f', {s["no_face"]} passed through ({skipped})'
                                if s['no_face'] else '')
                  + (f', {s["several_faces"]} with several faces' if s['several_faces'] else '')
                  + f', {s["seconds"]:.1f} s ({s["fps"]:.1f} frames/s)')
            if s['status'] != 'ok':
                print(f'error: {s["error"]}', file=sys.stderr)
                failed = True
        if args.save_intermediates:
            with open(osp.join(args.save_intermediates, 'summary.json'), 'w') as f:
                json.dump(result['predictions'], f, indent=2)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
