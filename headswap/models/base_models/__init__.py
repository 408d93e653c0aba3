from .two_player_gan import TwoPlayerGAN, build_module, grads_finite, unwrap

__all__ = ['TwoPlayerGAN', 'build_module', 'unwrap', 'grads_finite']
