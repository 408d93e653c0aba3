from typing import Optional

from mmengine.hooks import Hook

from headswap.registry import HOOKS

__all__ = ['DriverSensitivityHook']


@HOOKS.register_module()
class DriverSensitivityHook(Hook):
    """Warn when stage-1 outputs stop following their drivers (one face for every input).

    Reads two values :class:`Head2HeadAligner` logs every iteration over a window of its
    last training samples (:mod:`headswap.models.aligners.diagnostics`):
    ``driver_sensitivity``, the spread of the outputs over the spread of their targets, and
    ``driver_nearest``, the fraction of outputs nearer their own target than any other. Every
    ``interval`` iterations from ``start_iter`` on, a value under its threshold logs a
    warning: the losses of such a run still go down, but the model draws about one face
    whatever the driver. The second catches what the first misses: outputs that vary with
    the sources or the driver's colour jitter but not with the driver's pose and expression
    (measured at 512: sensitivity 0.67 while every output was the same face in evaluation).

    Args:
        threshold: Sensitivity under which to warn (0: one image for all inputs;
            about 1: outputs differ as much as their targets).
        start_iter: First iteration checked; every model starts near 0.
        interval: Iterations between two checks (and so between two warnings).
        key: The logged sensitivity.
        nearest_threshold: Fraction of own-target-nearest outputs under which to warn
            (chance is about 1 / window size); None: not checked.
        nearest_key: The logged fraction.
    """

    priority = 'LOW'

    def __init__(self, threshold: float = 0.1, start_iter: int = 1000, interval: int = 500,
                 key: str = 'driver_sensitivity', nearest_threshold: Optional[float] = 0.2,
                 nearest_key: str = 'driver_nearest'):
        self.threshold, self.start_iter = float(threshold), int(start_iter)
        self.interval, self.key = max(1, int(interval)), key
        self.nearest_threshold = None if nearest_threshold is None else float(nearest_threshold)
        self.nearest_key = nearest_key
        self.warnings = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        it = runner.iter + 1
        if it < self.start_iter or (it - self.start_iter) % self.interval:
            return
        outputs = outputs or {}
        value = outputs.get(self.key)
        if value is not None and float(value) < self.threshold:
            value = float(value)
            self.warnings += 1
            runner.logger.warning(
                f'iteration {it}: {self.key} = {value:.3f} < {self.threshold}: the outputs of '
                f'the last samples differ {value:.0%} as much as their targets do, so stage 1 '
                'is drawing about the same face whatever the driver. Losses still fall in '
                'this state. See docs/en/stage1_learning.md (causes and the settings that '
                'learn faster).')
            return
        nearest = outputs.get(self.nearest_key)
        if (self.nearest_threshold is not None and nearest is not None
                and float(nearest) < self.nearest_threshold):
            nearest = float(nearest)
            self.warnings += 1
            runner.logger.warning(
                f'iteration {it}: {self.nearest_key} = {nearest:.3f} < '
                f'{self.nearest_threshold}: only {nearest:.0%} of the last outputs are nearer '
                'their own target than the others\' targets, so the outputs vary (with the '
                'sources or the augmentation) without following their drivers. See '
                'docs/en/stage1_learning.md.')
