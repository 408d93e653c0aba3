from mmseg.datasets import BaseSegDataset

from headswap.registry import DATASETS
from headswap.structures.face_labels import PARSING_CLASSES, PARSING_PALETTE

__all__ = ['CelebAMaskHQDataset']


@DATASETS.register_module()
class CelebAMaskHQDataset(BaseSegDataset):
    """CelebAMask-HQ face parsing for mmseg's tools: 19 classes, headswap's label ids.

    Layout (made by ``tools/dataset_converters/celebamask_hq.py`` from the
    official release)::

        data_root/img_dir/{train,val}/<n>.jpg   512x512 RGB
        data_root/ann_dir/{train,val}/<n>.png   512x512 uint8 labels 0-18

    Label ids are those of docs/en/data_format.md (background 0 is a class;
    ``reduce_zero_label`` stays False). In mmseg configs (default scope
    ``mmseg``) write ``type='headswap.CelebAMaskHQDataset'`` and
    ``custom_imports=dict(imports=['headswap.datasets'])``.
    """

    METAINFO = dict(classes=PARSING_CLASSES, palette=[list(c) for c in PARSING_PALETTE])

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=False, **kwargs)
