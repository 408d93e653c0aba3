from .face_template import IBUG68_FACE_TEMPLATE
from .head_pose import (EXPRESSION_POINTS, RIGID_POINTS, camera_matrix, euler_to_rotation,
                        expression_offsets, frontal_template, inter_ocular_distance,
                        project_points, rotation_to_euler, solve_head_pose)

__all__ = [
    'IBUG68_FACE_TEMPLATE', 'RIGID_POINTS', 'EXPRESSION_POINTS', 'camera_matrix',
    'euler_to_rotation', 'expression_offsets', 'frontal_template', 'inter_ocular_distance',
    'project_points', 'rotation_to_euler', 'solve_head_pose'
]
