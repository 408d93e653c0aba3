from .fid import FID
from .identity_similarity import IdentitySimilarity
from .lpips import LPIPS
from .pose_expression_error import PoseExpressionError
from .psnr import PSNR
from .ssim import SSIM

__all__ = ['FID', 'IdentitySimilarity', 'LPIPS', 'PoseExpressionError', 'PSNR', 'SSIM']
