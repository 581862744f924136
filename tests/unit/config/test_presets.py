import pytest

from raybatch.config.presets import preset_table, resolve_preset


def test_table_covers_every_combination():
    table = preset_table()
    assert len(table) == 4 * 3 * 3
    assert {p.encoder for p in table} == {"libx264"}
    assert all(p.true_peak_dbtp == -1.5 for p in table)


def test_loudness_targets_by_type():
    assert resolve_preset("high", "balanced", "educational").loudness_target_lufs == -16
    assert resolve_preset("high", "balanced", "music").loudness_target_lufs == -14
    assert resolve_preset("high", "balanced", "general").loudness_target_lufs == -14


def test_quality_orders_crf_and_resolution():
    crfs = [resolve_preset(q, "balanced", "general").crf for q in ("low", "medium", "high", "ultra")]
    assert crfs == sorted(crfs, reverse=True)
    assert resolve_preset("low", "fast", "general").max_short_side == 720
    assert resolve_preset("ultra", "fast", "general").max_short_side == 2160


def test_mode_sets_encoder_speed_and_filter_strength():
    fast = resolve_preset("high", "fast", "general")
    slow = resolve_preset("high", "high_quality", "general")
    assert (fast.x264_preset, slow.x264_preset) == ("veryfast", "slow")
    assert fast.sharpen_amount < slow.sharpen_amount
    assert fast.denoise_luma < slow.denoise_luma


def test_unknown_names_list_choices():
    with pytest.raises(ValueError, match="choose one of low, medium, high, ultra"):
        resolve_preset("max", "fast", "general")
