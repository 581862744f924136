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


#: A config file is a page of settings: anything larger is a mistake or an attack.
MAX_CONFIG_BYTES = 1024 * 1024
#: Values a config may hold once its aliases are expanded (a YAML "alias bomb" expands a few
#: hundred bytes into billions).
MAX_CONFIG_NODES = 100_000


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML config file into a dict, with errors that name the file and line."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size} bytes is not a config file (at most 1 MiB)")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a YAML config file (not UTF-8 text)") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: not a YAML config file (binary content)")
    try:
        data = _load_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (batch:, ...)")
    return data


def _load_yaml(text: str, path: Path) -> Any:
    """``yaml.safe_load``, refusing documents whose aliases expand past ``MAX_CONFIG_NODES``
    values before anything is built from them."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_nodes(node, {}, set()) > MAX_CONFIG_NODES:
            raise ConfigError(
                f"{path}: its aliases (*name) expand to more than {MAX_CONFIG_NODES} values",
                hint="write the values out instead of nesting anchors and aliases",
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_nodes(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many values ``node`` holds with every alias expanded (shared nodes counted once
    per use, computed once each)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        return MAX_CONFIG_NODES + 1  # an alias inside itself expands for ever
    open_nodes.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    else:
        children = []
    for child in children:
        total += _expanded_nodes(child, sizes, open_nodes)
        if total > MAX_CONFIG_NODES:
            break
    open_nodes.discard(key)
    sizes[key] = total
    return total


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
