from .visualizer import HeadSwapVisualizer, make_image_grid

__all__ = ['HeadSwapVisualizer', 'make_image_grid']
