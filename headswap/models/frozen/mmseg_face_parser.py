"""Old import path of the mmseg parser:
:mod:`headswap.face.providers.mmseg_face_parser`."""
from headswap.face.providers.mmseg_face_parser import (DEFAULT_PARSER_CONFIG, MMSegFaceParser,
                                                       _drop_init_cfgs)

__all__ = ['_drop_init_cfgs', 'DEFAULT_PARSER_CONFIG', 'MMSegFaceParser']
