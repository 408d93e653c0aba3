"""Write images that say they are synthetic (PNG / JPEG / WebP) and read those marks back.

PNG: ``tEXt``/``iTXt`` chunks (Software, Description, ``headswap:provenance`` JSON) and an XMP
packet. JPEG: EXIF Software + ImageDescription and an XMP APP1 segment. Then, when enabled and
available, a C2PA manifest (PNG and JPEG) signed over the final bytes.
"""
import logging
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np
from PIL import Image, PngImagePlugin

from .c2pa_signer import c2pa_available, sign_file, warn_no_c2pa
from .info import JSON_KEY, Provenance, from_json_fields, from_xmp, to_xmp
from .watermark import mark_image

__all__ = ['write_image', 'read_image_metadata', 'IMAGE_SUFFIXES']

logger = logging.getLogger('headswap.provenance')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.webp')
_EXIF_SOFTWARE, _EXIF_DESCRIPTION = 0x0131, 0x010E


def write_image(path: str, rgb: np.ndarray, provenance: Optional[Provenance] = None,
                already_marked: bool = False, quality: int = 95) -> str:
    """Watermark (unless disabled or ``already_marked``) and save ``rgb`` with provenance.

    Args:
        path: output file; the suffix picks PNG, JPEG or WebP.
        rgb: (H, W, 3) uint8 RGB image.
        provenance: the record to embed; ``Provenance()`` (watermark on) when None.
        already_marked: the pixels were watermarked already (e.g. by ``mark_frames`` on GPU).
        quality: JPEG / WebP quality.

    Returns:
        ``path``.
    """
    prov = provenance or Provenance()
    suffix = osp.splitext(path)[1].lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f'cannot write {path}: use one of {", ".join(IMAGE_SUFFIXES)}')
    if prov.watermark and not already_marked:
        rgb = mark_image(rgb)
    image = Image.fromarray(np.ascontiguousarray(rgb), 'RGB')
    xmp = to_xmp(prov)
    exif = Image.Exif()
    exif[_EXIF_SOFTWARE] = f'{prov.generator} {prov.version}'
    exif[_EXIF_DESCRIPTION] = prov.description
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if suffix == '.png':
        info = PngImagePlugin.PngInfo()
        info.add_text('Software', f'{prov.generator} {prov.version}')
        info.add_text('Description', prov.description)
        info.add_text(JSON_KEY, prov.to_json())
        info.add_itxt('XML:com.adobe.xmp', xmp.decode('utf-8'))
        image.save(path, 'PNG', pnginfo=info)
    elif suffix in ('.jpg', '.jpeg'):
        image.save(path, 'JPEG', quality=quality, exif=exif.tobytes(), xmp=xmp)
    else:
        image.save(path, 'WEBP', quality=quality, exif=exif.tobytes(), xmp=xmp)
    if prov.c2pa and suffix != '.webp':
        if c2pa_available():
            sign_file(path, prov)
        else:
            warn_no_c2pa()
    return path


def read_image_metadata(path: str) -> Dict[str, Dict[str, str]]:
    """Provenance fields found in an image, by source: {'png-text'|'xmp'|'exif': fields}."""
    try:
        with Image.open(path) as image:
            info = dict(image.info)
            exif = image.getexif()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f'cannot read image {path}: {exc}') from exc
    found: Dict[str, Dict[str, str]] = {}
    if JSON_KEY in info:
        fields = from_json_fields(info[JSON_KEY])
        if fields:
            found['png-text'] = fields
    xmp = info.get('xmp') or info.get('XML:com.adobe.xmp')
    if xmp:
        fields = from_xmp(xmp)
        if fields:
            found['xmp'] = fields
    software = str(exif.get(_EXIF_SOFTWARE, ''))
    if software.startswith('headswap'):
        found['exif'] = {'software': software,
                         'description': str(exif.get(_EXIF_DESCRIPTION, ''))}
    return found
