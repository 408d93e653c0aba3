from .celebamask_hq_dataset import CelebAMaskHQDataset
from .head2head_dataset import Head2HeadDataset
from .head2scene_dataset import Head2SceneDataset
from .samplers import *  # noqa: F401,F403
from .talking_head_dataset import TalkingHeadDataset
from .talking_head_split_dataset import TalkingHeadSplitDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'TalkingHeadDataset', 'TalkingHeadSplitDataset', 'Head2HeadDataset', 'Head2SceneDataset',
    'CelebAMaskHQDataset'
]
