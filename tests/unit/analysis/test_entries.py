"""Analysis cache entries read back from disk: a valid one passes, an edited one is a miss."""

import pytest

from raybatch.analysis.entries import check_picture, check_shots, check_sound
from raybatch.analysis.sound import NO_AUDIO

SHOTS = {"shots": [{"frame": 0, "time_s": 0.0}, {"frame": 75, "time_s": 3.0}], "transitions": [[1.2, 1.6]]}
PICTURE = {"frames": 150, "fps": "25/1", "content_cuts": [75], "black": [], "frozen": [[2.0, 4.5]]}
SOUND = {"has_audio": True, "speech": [[0.2, 1.9]], "silences": [[2.0, 2.8]], "loudnorm": {"input_i": -23.0}}


def test_entries_as_analysis_writes_them_pass():
    assert check_shots(SHOTS) is None and check_picture(PICTURE) is None
    assert check_sound(SOUND) is None and check_sound(dict(NO_AUDIO)) is None


@pytest.mark.parametrize(
    ("check", "entry", "field"),
    [
        (check_shots, {"shots": "many"}, "shots"),
        (check_shots, {"shots": [{"frame": -5, "time_s": 0.0}]}, "shots.0.frame"),
        (check_picture, {**PICTURE, "frozen": [[1.0]]}, "frozen.0.1"),
        (check_sound, {**SOUND, "speech": [[0.0, float("nan")]]}, "speech.0.1"),
        (check_sound, {**SOUND, "silences": [["a", "b"]]}, "silences.0.0"),
        (check_sound, {"speech": []}, "has_audio"),
    ],
)
def test_an_edited_entry_names_its_field(check, entry, field):
    problem = check(entry)
    assert problem is not None and problem.startswith(f"{field}:")
