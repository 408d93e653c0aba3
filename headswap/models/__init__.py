from .blenders import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .discriminators import *  # noqa: F401,F403
from .frozen import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .parsers import *  # noqa: F401,F403
from .unets import *  # noqa: F401,F403
from .warping import *  # noqa: F401,F403
