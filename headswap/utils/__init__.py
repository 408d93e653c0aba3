"""Small helpers, each with one reason to exist. Importing this package is cheap."""
from .setup_env import register_all_modules

__all__ = ['register_all_modules']
