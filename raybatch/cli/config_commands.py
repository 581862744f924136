"""``raybatch batch config``: the example files, the resolved configuration, validation and the
JSON Schema editors complete YAML from."""

from __future__ import annotations

import json
from typing import Any

import click
import yaml

from raybatch.config.examples import EXAMPLES, example_text
from raybatch.config.loader import load_config
from raybatch.config.model import RaybatchConfig


@click.group("config", invoke_without_command=True)
@click.option(
    "--example",
    type=click.Choice(sorted(EXAMPLES)),
    is_flag=False,
    flag_value="batch",
    help="Print an example file (batch: every key with comments; series; custom_output).",
)
@click.pass_context
def config_group(ctx: click.Context, example: str | None) -> None:
    """Example configurations, and what a configuration resolves to.

    \b
    raybatch batch config --example > batch_config.yaml
    raybatch batch config validate batch_config.yaml
    raybatch batch --config batch_config.yaml config show
    raybatch batch config schema > raybatch.schema.json"""
    if example:
        click.echo(example_text(example), nl=False)
    elif ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def _group_config(ctx: click.Context) -> str | None:
    """The ``--config`` given to ``raybatch batch`` (before ``config``)."""
    return (ctx.find_object(dict) or {}).get("config")


@config_group.command("show")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML.")
@click.pass_context
def show(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Print the resolved configuration: defaults, then the file; secrets redacted."""
    config = load_config(config_path or _group_config(ctx))
    click.echo(render(config.public_dump(), as_json), nl=False)


@config_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check config FILES: each is read and validated as a run would (exit 2 at the first bad
    one, naming the file, the key and what is allowed)."""
    for path in files:
        load_config(path)
        click.echo(f"{path}: valid")


@config_group.command("schema")
def schema() -> None:
    """Print the configuration's JSON Schema (for editor completion of YAML files, e.g. with a
    ``# yaml-language-server: $schema=raybatch.schema.json`` first line)."""
    click.echo(json.dumps(RaybatchConfig.model_json_schema(), indent=2))


def render(data: dict[str, Any], as_json: bool) -> str:
    """``data`` as YAML (keys in the model's order) or as indented JSON."""
    if as_json:
        return json.dumps(data, indent=2) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
