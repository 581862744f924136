from pathlib import Path

import pytest

from raybatch.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[3]


def test_defaults():
    config = load_config()
    assert config.batch.executor == "ray"
    assert config.processing.quality == "high"
    assert config.output.directory == "./batch_output"


def test_bundled_config_file_loads_in_guide_shape():
    config = load_config(REPO / "configs" / "batch_config.yaml")
    assert config.batch.error_handling == "continue"  # continue_on_error accepted
    assert config.batch.max_concurrent_jobs == 3
    assert config.processing.content_type == "educational"


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("processing:\n  qualty: high\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert "processing.qualty" in message
    assert "quality" in message and "allowed keys" in message


def test_bad_value_names_allowed_values(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("processing:\n  quality: extreme\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "processing.quality" in str(err.value)
    assert "'low', 'medium', 'high' or 'ultra'" in str(err.value)
    assert "'extreme'" in str(err.value)


def test_unknown_section(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("render:\n  fast: true\n")
    with pytest.raises(ConfigError, match="render: unknown key; allowed keys here: batch"):
        load_config(path)


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("batch:\n  recursive: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_flags_override_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("processing:\n  quality: low\n  mode: fast\n")
    config = load_config(path, {"processing": {"quality": "ultra", "mode": None}})
    assert config.processing.quality == "ultra"
    assert config.processing.mode == "fast"  # None means "flag not given"


def test_bad_flag_value_is_reported_as_flags():
    with pytest.raises(ConfigError, match=r"command-line flags: batch\.max_concurrent_jobs"):
        load_config(None, {"batch": {"max_concurrent_jobs": 0}})


def test_loudness_override_reaches_preset():
    config = load_config(None, {"processing": {"loudness_target_lufs": -23}})
    assert config.preset().loudness_target_lufs == -23
