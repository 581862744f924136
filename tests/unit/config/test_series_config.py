"""Series coordination in the configuration: the guide's two YAML files load as printed, a
series section or flag turns it on, and series keys set without it earn a warning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from raybatch.config.loader import load_config
from raybatch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT.parent / "shared" / "guide" / "batch-processing.md"


def guide_yaml(first_line: str, tmp_path: Path) -> Path:
    """The guide's YAML block that starts with ``first_line``, written out verbatim."""
    if not GUIDE.is_file():
        pytest.skip("../shared/guide is not present")
    block = next(
        b for b in re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.S) if b.startswith(first_line)
    )
    path = tmp_path / "guide.yaml"
    path.write_text(block)
    return path


def test_the_guides_batch_config_loads_as_printed_and_turns_coordination_on(tmp_path):
    config = load_config(guide_yaml("# Batch Processing Configuration", tmp_path))
    assert config.series_coordinated and config.unused_series_keys() == []
    assert config.processing.content_type == "educational" and config.batch.error_handling == "continue"


def test_the_guides_series_config_loads_as_printed(tmp_path):
    config = load_config(guide_yaml("# Series Coordination Configuration", tmp_path))
    assert config.series_coordinated and config.series.name == "Complete Python Tutorial Series"
    assert config.processing.content_type == "educational"  # series.type
    assert config.metadata.series_keywords == ["python tutorial", "programming course", "learn python"]
    assert config.metadata.progressive_numbering and config.series_branding


def test_the_guides_custom_output_block_loads_as_printed_and_is_the_shipped_one(tmp_path):
    patterns = load_config(guide_yaml("# Custom output organization", tmp_path)).output.patterns_in_use()
    assert patterns == load_config(ROOT / "configs" / "custom_output.yaml").output.patterns_in_use()
    assert patterns.video_file == "{series_name}_E{episode:02d}_{title}.mp4"


@pytest.mark.parametrize("name", ["batch_config.yaml", "series_config.yaml"])
def test_the_shipped_configs_load(name):
    config = load_config(ROOT / "configs" / name)
    assert config.unused_series_keys() == []


def test_a_series_section_or_flag_turns_coordination_on_and_type_gives_way_to_an_explicit_one():
    assert not load_config(None, {}).series_coordinated
    assert load_config(None, {"series": {"name": "Money"}}).series_coordinated
    assert load_config(None, {"coordination": {"enable_series_coordination": True}}).series_coordinated
    typed = load_config(None, {"series": {"type": "music"}, "processing": {"content_type": "general"}})
    assert typed.processing.content_type == "general"
    assert load_config(None, {"series": {"type": "music"}}).processing.content_type == "music"


def test_series_keys_without_coordination_are_named():
    config = load_config(
        None, {"metadata": {"progressive_numbering": True}, "coordination": {"concept_continuity": False}}
    )
    assert config.unused_series_keys() == [
        "coordination.concept_continuity",
        "metadata.progressive_numbering",
    ]


def test_a_bad_palette_colour_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"series\.branding\.palette.*not a colour"):
        load_config(None, {"series": {"branding": {"palette": ["#12", "navy"]}}})


def test_a_jobs_stored_configuration_keeps_coordination_as_it_was():
    """resume and retry rebuild the configuration from the manifest's full dump."""
    plain = load_config(None, {"processing": {"quality": "low"}})
    again = load_config(None, plain.public_dump())
    assert not again.series_coordinated and again.unused_series_keys() == []
    series = load_config(None, {"series": {"name": "Money"}})
    assert load_config(None, series.public_dump()).series_coordinated
