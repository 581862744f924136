"""Quality sampling: where the samples fall on the edited timeline, and reading ffmpeg's scores."""

from __future__ import annotations

from raybatch.media.quality import PSNR_CAP_DB, SamplePoint, compare_args, parse_scores, sample_points, spread


def test_samples_spread_over_the_edited_timeline_and_map_back_to_the_source():
    # 100 kept frames from two ranges: 40 from [0, 40), 60 from [100, 160)
    points = sample_points([(0, 40), (100, 160)], samples=4, frames=3)
    assert [p.output_frame for p in points] == [12, 37, 62, 87]
    assert [p.source_frame for p in points] == [12, 37, 122, 147]
    assert all(p.frames == 3 for p in points)


def test_a_sample_stays_inside_its_kept_range():
    # the middle frame (3) is too close to its range's end for three frames: the sample moves back
    (point,) = sample_points([(0, 4), (50, 52)], samples=1, frames=3)
    assert point == SamplePoint(output_frame=1, source_frame=1, frames=3)
    points = sample_points([(10, 12)], samples=2, frames=5)
    assert all(p.source_frame >= 10 and p.source_frame + p.frames <= 12 for p in points)
    assert sample_points([], samples=4) == []


def test_one_ffmpeg_run_scores_every_sample_with_the_source_scaled_to_the_output():
    args = compare_args(
        "out.mp4", "in.mov", [SamplePoint(25, 50, 3), SamplePoint(75, 150, 3)], "25/1", (640, 360)
    )
    assert args.count("-i") == 4 and args.count("null") == 2
    # seeks a quarter frame early: 25 frames at 25 fps is 1 s
    assert args[args.index("out.mp4") - 2] == "0.9900"
    graph = args[args.index("-filter_complex") + 1]
    assert "[1:v]fps=25/1,scale=640:360" in graph and "[3:v]fps=25/1,scale=640:360" in graph


def test_scores_are_read_from_the_summary_lines_and_identical_frames_stay_finite():
    stderr = (
        "[Parsed_psnr_6 @ 0x1] PSNR y:38.1 u:40.2 v:41.0 average:38.66 min:38.2 max:39.0\n"
        "[Parsed_ssim_7 @ 0x2] SSIM Y:0.98 (17.1) U:0.99 (20.0) V:0.99 (20.1) All:0.9835 (17.8)\n"
        "[Parsed_psnr_14 @ 0x3] PSNR y:inf u:inf v:inf average:inf min:inf max:inf\n"
        "[Parsed_ssim_15 @ 0x4] SSIM Y:1.000000 (inf) U:1.0 (inf) V:1.0 (inf) All:1.000000 (inf)\n"
    )
    assert parse_scores(stderr) == [(0.9835, 38.66), (1.0, PSNR_CAP_DB)]
    assert parse_scores("no summary") == []


def test_the_batch_spread():
    assert spread([0.9, 0.95, 1.0]) == {"mean": 0.95, "min": 0.9, "max": 1.0, "spread": 0.1, "stdev": 0.0408}
    assert spread([]) is None
