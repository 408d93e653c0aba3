from .face_template import IBUG68_FACE_TEMPLATE
from .head_pose import (EXPRESSION_POINTS, RIGID_POINTS, camera_matrix, euler_to_rotation,
                        expression_offsets, frontal_template, inter_ocular_distance, project_points,
                        rotation_to_euler, solve_head_pose)
from .image_quality import check_same_size, psnr, sample_image, sample_mask, ssim

__all__ = [
    'IBUG68_FACE_TEMPLATE', 'RIGID_POINTS', 'EXPRESSION_POINTS', 'camera_matrix',
    'euler_to_rotation', 'expression_offsets', 'frontal_template', 'inter_ocular_distance',
    'project_points', 'rotation_to_euler', 'solve_head_pose', 'check_same_size', 'psnr',
    'sample_image', 'sample_mask', 'ssim'
]
