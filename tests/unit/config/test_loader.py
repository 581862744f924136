from pathlib import Path

import pytest

from raybatch.config import ConfigError, load_config
from raybatch.config.loader import read_config_file

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


def test_the_shipped_custom_output_config_is_the_guides_block():
    patterns = load_config(REPO / "configs" / "custom_output.yaml").output.patterns_in_use()
    assert patterns.video_dir == "{series_name}/{episode_number}_{video_name}"
    assert patterns.thumbnail_file == "{series_name}_E{episode:02d}_thumb_{strategy}.jpg"


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


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    """Nine anchors of nine aliases each: 9**9 values once expanded. Refused from the parsed
    document, with next to no memory."""
    import tracemalloc

    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    lines.append("metadata:\n  keywords: *a9")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    with pytest.raises(ConfigError, match="aliases"):
        read_config_file(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


def test_a_self_referencing_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("metadata:\n  keywords: &k [a, *k]\n")
    with pytest.raises(ConfigError, match="aliases"):
        read_config_file(path)


def test_a_few_anchors_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("metadata:\n  keywords: &k [python, loops]\nthumbnails:\n  strategies: [clean]\n")
    assert read_config_file(path)["metadata"]["keywords"] == ["python", "loops"]


def test_huge_binary_and_non_utf8_configs_are_config_errors(tmp_path):
    huge = tmp_path / "huge.yaml"
    huge.write_text("metadata:\n  keywords:\n" + "    - word\n" * 200_000)
    with pytest.raises(ConfigError, match="at most 1 MiB"):
        read_config_file(huge)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"batch:\x00\x01\x02")
    with pytest.raises(ConfigError, match="binary"):
        read_config_file(binary)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("metadata:\n  language: fran\xe7ais\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_config_file(latin)


def test_infinite_numbers_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="video_timeout_s"):
        load_config(None, {"batch": {"video_timeout_s": float("inf")}})


def test_cache_strategies_decide_which_caches_are_on():
    def output(**values):
        return load_config(None, {"input": "/in", "output": values}).output

    assert not output().media_caches
    assert output(aggressive_caching=True).media_caches
    assert output(cache_strategy="batch_optimized").media_caches
    assert not output(cache_strategy="off").media_caches
    with pytest.raises(ConfigError, match="contradict each other"):
        output(cache_strategy="off", aggressive_caching=True)
