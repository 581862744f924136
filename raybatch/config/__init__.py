"""Configuration: typed settings, presets and loading."""

from raybatch.config.loader import ConfigError, load_config
from raybatch.config.model import RaybatchConfig
from raybatch.config.presets import Preset, resolve_preset

__all__ = ["ConfigError", "Preset", "RaybatchConfig", "load_config", "resolve_preset"]
