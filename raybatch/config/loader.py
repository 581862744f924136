"""Load a YAML config, apply CLI overrides, and turn validation failures into clear messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from raybatch.config.model import RaybatchConfig
from raybatch.errors import ConfigError


def _allowed_keys(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in path:
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return []
        annotation = field.annotation
        candidates = [annotation, *get_args(annotation)]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return sorted(current.model_fields) if current else []


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: ``source: section.key: what is wrong (got VALUE)``."""
    lines = []
    for problem in error.errors():
        location = tuple(problem["loc"])
        key = ".".join(str(p) for p in location) or "(top level)"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            allowed = _allowed_keys(RaybatchConfig, location[:-1])
            message = f"unknown key; allowed keys here: {', '.join(allowed)}"
        elif "input" in problem and not isinstance(problem["input"], dict):
            message = f"{message} (got {problem['input']!r})"
        lines.append(f"{source}: {key}: {message}")
    return "\n".join(lines)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` section by section; ``None`` values never override."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, dict):
            base_section = merged.get(key)
            merged[key] = deep_merge(base_section if isinstance(base_section, dict) else {}, value)
        else:
            merged[key] = value
    return merged


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML config file into a dict, with errors that name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (batch:, ...)")
    return data


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RaybatchConfig:
    """Build the run's configuration: defaults, then the file, then flags (flags win)."""
    data = read_config_file(path) if path else {}
    source = str(path) if path else "configuration"
    try:
        file_config = RaybatchConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    merged = deep_merge(file_config.model_dump(exclude_unset=True), overrides or {})
    try:
        return RaybatchConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "command-line flags")) from None
