"""Generate a small sample batch with ffmpeg: speech-like tone bursts with pauses, several shots,
different sizes and rates, plus one broken file to show how errors are reported."""

from __future__ import annotations

import argparse
import os
import subprocess


def _run(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", *args], check=True)


def speechy_audio(duration: float) -> str:
    """A lavfi source of 'syllables': 220 Hz tone bursts gated on and off, with longer pauses."""
    return (
        f"sine=frequency=220:sample_rate=48000:duration={duration},"
        "volume='if(lt(mod(t,3),1.8),0.5*(0.6+0.4*sin(2*PI*4*t)),0)':eval=frame"
    )


def shots(sources: list[str], size: str, rate: int, each: float) -> tuple[list[str], str]:
    """Inputs and a filtergraph that concatenates several different-looking shots."""
    inputs: list[str] = []
    for src in sources:
        inputs += ["-f", "lavfi", "-i", f"{src}=size={size}:rate={rate}:duration={each}"]
    labels = "".join(f"[{i}:v]" for i in range(len(sources)))
    return inputs, f"{labels}concat=n={len(sources)}:v=1:a=0[v]"


def make(out_dir: str) -> list[str]:
    os.makedirs(out_dir, exist_ok=True)
    made = []
    specs = [
        ("lecture_01.mp4", ["testsrc2", "smptebars", "testsrc"], "1280x720", 30, 8.0),
        ("lecture_02.mp4", ["rgbtestsrc", "testsrc2"], "960x540", 25, 10.0),
        ("interview_portrait.mp4", ["testsrc2", "smptehdbars"], "480x854", 30, 6.0),
    ]
    for name, sources, size, rate, each in specs:
        duration = each * len(sources)
        inputs, graph = shots(sources, size, rate, each)
        path = os.path.join(out_dir, name)
        _run(
            [
                *inputs,
                "-f", "lavfi", "-i", speechy_audio(duration),
                "-filter_complex", graph,
                "-map", "[v]", "-map", f"{len(sources)}:a",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-shortest", path,
            ]
        )  # fmt: skip
        made.append(path)
    silent = os.path.join(out_dir, "screen_capture_no_audio.mkv")
    _run(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24:duration=7", "-c:v", "libx264", silent])
    made.append(silent)
    broken = os.path.join(out_dir, "broken_upload.mp4")
    with open(broken, "wb") as handle:
        handle.write(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2048))
    made.append(broken)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", nargs="?", default="sample_batch")
    for path in make(parser.parse_args().out_dir):
        print(path)


if __name__ == "__main__":
    main()
