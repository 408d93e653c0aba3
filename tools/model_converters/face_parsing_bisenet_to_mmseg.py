"""Convert the public face-parsing BiSeNet checkpoint into headswap's mmseg face parser.

    python tools/model_converters/face_parsing_bisenet_to_mmseg.py 79999_iter.pth \
        checkpoints/face_parsing_bisenet_r18_celebamask-hq.pth

Source: zllrunning/face-parsing.PyTorch ``79999_iter.pth`` (ResNet-18 BiSeNet,
CelebAMask-HQ, 19 classes). Target: the EncoderDecoder of
``configs/face_parsing/bisenet_r18_4xb4-80k_celebamask-hq-512x512.py``
(backbone ``headswap.FaceParsingBiSeNet``, ``FCNHead`` decode and auxiliary heads).

Key mapping::

    cp.resnet.*                  -> backbone.resnet.*   (torchvision ResNet-18 layout = mmseg's)
    cp.{arm16,arm32,conv_head16,conv_head32,conv_avg}.* -> backbone.<same>.*
    ffm.*                        -> backbone.ffm.*
    conv_out.conv.{conv,bn}.*    -> decode_head.convs.0.{conv,bn}.*
    conv_out.conv_out.weight     -> decode_head.conv_seg.weight   (bias: zeros, the source has none)
    conv_out16.* / conv_out32.*  -> auxiliary_head.0.* / auxiliary_head.1.*  (same pattern)

Label remap (classifier rows reordered so channel i is headswap label i, see
docs/en/data_format.md): ``--label-order face-parsing.pytorch`` (default) is the
order of that repository (background, skin, l_brow, r_brow, l_eye, r_eye,
eye_g, l_ear, r_ear, ear_r, nose, mouth, u_lip, l_lip, neck, neck_l, cloth,
hair, hat), which headswap adopted, so its remap is the identity;
``--label-order celebamask-hq`` is the order of the CelebAMask-HQ release's
mask files (skin, nose, eye_g, l_eye, r_eye, l_brow, r_brow, l_ear, r_ear,
mouth, u_lip, l_lip, hair, hat, ear_r, neck_l, neck, cloth after background),
for models trained on labels made by that release's own scripts.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, Sequence, Tuple

import torch

from headswap.structures.face_labels import CELEBAMASK_HQ_FILE_ORDER, PARSING_CLASSES
from headswap.utils.checkpoint import load_weights

LABEL_ORDERS: Dict[str, Tuple[str, ...]] = {
    'face-parsing.pytorch': PARSING_CLASSES,
    'celebamask-hq': ('background', ) + CELEBAMASK_HQ_FILE_ORDER,
}

_HEADS = {'conv_out.': 'decode_head.', 'conv_out16.': 'auxiliary_head.0.',
          'conv_out32.': 'auxiliary_head.1.'}


def _map_key(key: str) -> str:
    for src, dst in _HEADS.items():
        if key.startswith(src):
            rest = key[len(src):]
            if rest.startswith('conv_out.'):
                return dst + 'conv_seg.' + rest[len('conv_out.'):]
            if rest.startswith('conv.'):
                return dst + 'convs.0.' + rest[len('conv.'):]
            raise KeyError(f'unexpected key {key} in a face-parsing BiSeNet checkpoint')
    if key.startswith('cp.'):
        return 'backbone.' + key[len('cp.'):]
    if key.startswith('ffm.'):
        return 'backbone.' + key
    raise KeyError(f'unexpected key {key} in a face-parsing BiSeNet checkpoint')


def label_permutation(order: Sequence[str]) -> torch.Tensor:
    """Index ``p`` with ``new_channel[i] = old_channel[p[i]]`` (headswap label i)."""
    if sorted(order) != sorted(PARSING_CLASSES):
        raise ValueError(f'a label order must name the 19 classes {PARSING_CLASSES}')
    return torch.tensor([list(order).index(name) for name in PARSING_CLASSES])


def convert(state: Dict[str, torch.Tensor],
            label_order: str = 'face-parsing.pytorch') -> Dict[str, torch.Tensor]:
    """Public face-parsing BiSeNet state dict -> headswap mmseg EncoderDecoder state dict."""
    perm = label_permutation(LABEL_ORDERS[label_order])
    out = {}
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        new = _map_key(key)
        if new.endswith('conv_seg.weight'):
            value = value[perm].clone()
            out[new[:-len('weight')] + 'bias'] = torch.zeros(value.shape[0], dtype=value.dtype)
        out[new] = value
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='face-parsing.PyTorch checkpoint (e.g. 79999_iter.pth)')
    parser.add_argument('dst', help='output checkpoint for MMSegFaceParser / mmseg')
    parser.add_argument('--label-order', choices=sorted(LABEL_ORDERS),
                        default='face-parsing.pytorch',
                        help='class order of the source classifier (see the module docstring)')
    args = parser.parse_args(argv)
    from headswap.utils.checkpoint import CheckpointError
    try:
        state = load_weights(args.src)
        converted = convert(state, args.label_order)
    except (CheckpointError, KeyError, ValueError) as e:
        sys.exit(f'face_parsing_bisenet_to_mmseg.py: error: {args.src}: {e}')
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=converted,
                    meta=dict(converted_from=osp.basename(args.src),
                              label_order=args.label_order,
                              classes=list(PARSING_CLASSES))), args.dst)
    print(f'wrote {args.dst}: {len(converted)} tensors, labels remapped from {args.label_order}')


if __name__ == '__main__':
    main()
