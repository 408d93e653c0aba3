"""A tiny prepared dataset written by the tests (layout of docs/en/data_format.md)."""
import json
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np


def make_dataset(root: str, layout: Dict[Tuple[str, str, str], int], size: int = 32,
                 with_parsing: bool = True) -> str:
    """Write frames, parsing maps and index.json; ``layout`` maps (id, video, clip) -> frames.

    Each image encodes its frame in its pixel values so tests can tell frames apart.
    """
    data_list = []
    n = 0
    for (ident, video, clip), frames in sorted(layout.items()):
        for f in range(frames):
            rel = f'{ident}/{video}/{clip}/{f:06d}'
            img = np.full((size, size, 3), (n * 7) % 256, np.uint8)
            img[:, : size // 4] = (0, 0, 255)  # a blue band on the left (RGB)
            os.makedirs(osp.join(root, 'frames', osp.dirname(rel)), exist_ok=True)
            cv2.imwrite(osp.join(root, 'frames', rel + '.png'), img[..., ::-1])
            entry = dict(identity=ident, video=video, clip=clip, frame=f,
                         img_path=f'frames/{rel}.png',
                         landmarks=(np.random.RandomState(n).rand(68, 2) * size).tolist(),
                         quality=dict(face_size=100.0, blur=50.0, landmark_score=0.9))
            if with_parsing:
                labels = np.zeros((size, size), np.uint8)
                labels[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1  # skin
                labels[size // 4: size // 2, : size // 2] = 4   # l_eye on the image left
                labels[:4] = 16                                 # cloth (not head)
                os.makedirs(osp.join(root, 'parsing', osp.dirname(rel)), exist_ok=True)
                cv2.imwrite(osp.join(root, 'parsing', rel + '.png'), labels)
                entry['parsing_path'] = f'parsing/{rel}.png'
            data_list.append(entry)
            n += 1
    index = dict(metainfo=dict(dataset_type='talking_heads', version=1, resolution=size),
                 data_list=data_list)
    with open(osp.join(root, 'index.json'), 'w') as f:
        json.dump(index, f)
    return root
