import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from headswap.registry import HOOKS

__all__ = ['ImageGridHook']


@HOOKS.register_module()
class ImageGridHook(Hook):
    """Image grids of the model's inputs and outputs while training and testing.

    Every ``interval`` training iterations the model is run in inference mode
    (``val_step``) on the current batch and a grid of ``keys`` (one row per
    sample) goes to every visualisation backend (local PNGs under
    ``vis_data/vis_image`` and TensorBoard). The first validation batch is drawn
    the same way; with ``test_out_dir`` every test sample is written as a PNG.

    Args:
        interval: Training iterations between grids; 0 disables training grids.
        keys: Data-sample fields to draw, in column order (uint8 images,
            ``(K, 3, H, W)`` stacks or masks).
        max_samples: Rows per grid.
        tile: Tile size in pixels.
        draw_val: Whether to draw the first batch of each validation.
        test_out_dir: Folder (relative to the run's log dir) for test grids.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1000,
                 keys: Sequence[str] = ('source_imgs', 'driver_img', 'pred_img', 'gt_img'),
                 max_samples: int = 4, tile: int = 128, draw_val: bool = True,
                 test_out_dir: Optional[str] = None):
        self.interval = interval
        self.keys = tuple(keys)
        self.max_samples = max_samples
        self.tile = tile
        self.draw_val = draw_val
        self.test_out_dir = test_out_dir

    def _draw(self, runner, name: str, samples, step: int) -> None:
        keys = [k for k in self.keys if samples and samples[0].get(k) is not None]
        if keys:
            runner.visualizer.add_datasample(name, data_sample=list(samples[:self.max_samples]),
                                             keys=keys, step=step, tile=self.tile)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.interval or not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            samples = runner.model.val_step(data_batch)
        model.train(was_training)
        self._draw(runner, 'train', samples, runner.iter + 1)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.draw_val and batch_idx == 0 and outputs:
            self._draw(runner, 'val', outputs, runner.iter)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.test_out_dir is None or not outputs:
            return
        out_dir = osp.join(runner.log_dir, self.test_out_dir)
        keys = [k for k in self.keys if outputs[0].get(k) is not None]
        for i, sample in enumerate(outputs):
            name = f'{batch_idx:05d}_{i:02d}.png'
            runner.visualizer.add_datasample(name, data_sample=sample, keys=keys, tile=self.tile,
                                             out_file=osp.join(out_dir, name))
