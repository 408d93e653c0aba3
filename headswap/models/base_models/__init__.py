from .two_player_gan import (Applied, TwoPlayerGAN, build_module, count_skipped, grads_finite,
                             skips_on_device, take_ema_weights, unwrap)

__all__ = ['TwoPlayerGAN', 'build_module', 'unwrap', 'grads_finite', 'take_ema_weights',
           'skips_on_device', 'count_skipped', 'Applied']
