"""Local development: the embedded defaults of base.py."""

from .base import *  # noqa: F403
