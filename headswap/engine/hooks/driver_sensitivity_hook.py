from typing import Optional

from mmengine.hooks import Hook

from headswap.registry import HOOKS

__all__ = ['DriverSensitivityHook']


@HOOKS.register_module()
class DriverSensitivityHook(Hook):
    """Warn when stage-1 outputs stop following their drivers (one face for every input).

    Reads ``driver_sensitivity``, which :class:`Head2HeadAligner` logs every
    iteration (the spread of its last outputs over the spread of their targets;
    :mod:`headswap.models.aligners.diagnostics`). Every ``interval`` iterations from
    ``start_iter`` on, a value under ``threshold`` logs a warning: the losses of such a
    run still go down, but the model draws one average face whatever the driver.

    Args:
        threshold: Sensitivity under which to warn (0: one image for all inputs;
            about 1: outputs differ as much as their targets).
        start_iter: First iteration checked; every model starts near 0.
        interval: Iterations between two checks (and so between two warnings).
        key: The logged value.
    """

    priority = 'LOW'

    def __init__(self, threshold: float = 0.1, start_iter: int = 1000, interval: int = 500,
                 key: str = 'driver_sensitivity'):
        self.threshold, self.start_iter = float(threshold), int(start_iter)
        self.interval, self.key = max(1, int(interval)), key
        self.warnings = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        it = runner.iter + 1
        if it < self.start_iter or (it - self.start_iter) % self.interval:
            return
        value = (outputs or {}).get(self.key)
        if value is None:
            return
        value = float(value)
        if value < self.threshold:
            self.warnings += 1
            runner.logger.warning(
                f'iteration {it}: {self.key} = {value:.3f} < {self.threshold}: the outputs of '
                f'the last samples differ {value:.0%} as much as their targets do, so stage 1 '
                'is drawing about the same face whatever the driver. Losses still fall in '
                'this state. See docs/en/stage1_learning.md (causes and the settings that '
                'learn faster).')
