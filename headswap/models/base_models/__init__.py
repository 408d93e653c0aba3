from .two_player_gan import TwoPlayerGAN, build_module, grads_finite, take_ema_weights, unwrap

__all__ = ['TwoPlayerGAN', 'build_module', 'unwrap', 'grads_finite', 'take_ema_weights']
