"""Old import path of the packaged model files:
:mod:`headswap.face.providers.packaged_models`."""
from headswap.face.providers.packaged_models import packaged_model_file, read_tflite

__all__ = ['packaged_model_file', 'read_tflite']
