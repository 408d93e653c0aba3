from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .driver_sensitivity_hook import DriverSensitivityHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .rng_state_hook import RNGStateHook
from .time_budget_hook import TimeBudgetHook
from .visualization_hook import ImageGridHook

__all__ = [
    'DeferredRuntimeInfoHook', 'DriverSensitivityHook', 'ImageGridHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'RNGStateHook', 'TimeBudgetHook'
]
