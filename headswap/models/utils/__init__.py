from .spectral_norm import warm_up_spectral_norm

__all__ = ['warm_up_spectral_norm']
