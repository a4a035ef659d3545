"""Reading metrics files that a killed or still-running trainer left half-written."""

from pathlib import Path

import pytest

from a3c.metrics import (
    Curve,
    RunDataError,
    read_curve,
    read_episodes,
    read_rows,
    stitch_wall,
)
from a3c.plot import milestones, plot_runs, scores_at

HEADER = "frames,episode,score,steps,avg_max_prob,learner,wall_s\n"
ROWS = ["100,1,2.0,50,0.5,0,1.0\n", "300,2,7.0,90,0.6,1,2.0\n", "200,3,4.0,70,0.4,0,3.0\n"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "episodes.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "tail,why",
    [
        ("400,4,1", "too few fields"),
        ("400,4,1.0,60,0.5,0,4.0,extra\n", "too many fields"),
        ("4x0,4,1.0,60,0.5,0,4.0\n", "frames does not parse"),
        ("400,4,1.0,60,0.5,0,4", "no line end: the last value may be cut short"),
    ],
)
def test_damaged_rows_are_counted_and_left_out(tmp_path: Path, tail: str, why: str) -> None:
    rows, damaged = read_rows(_write(tmp_path, HEADER + "".join(ROWS) + tail), ("frames", "score"))
    assert damaged == 1, why
    assert [r["episode"] for r in rows] == ["1", "2", "3"]


def test_whole_files_read_whole(tmp_path: Path) -> None:
    rows, damaged = read_rows(_write(tmp_path, HEADER + "".join(ROWS)), ("frames", "score"))
    assert (len(rows), damaged) == (3, 0)
    # A damaged row in the middle does not cost the whole last row its place.
    text = HEADER + ROWS[0] + "oops\n" + ROWS[1]
    rows, damaged = read_rows(_write(tmp_path, text), ("frames",))
    assert ([r["episode"] for r in rows], damaged) == (["1", "2"], 1)


def test_read_episodes_sorts_by_frames_and_skips_a_half_written_row(tmp_path: Path) -> None:
    _write(tmp_path, HEADER + "".join(ROWS) + "400,4,9.0,6")
    assert read_episodes(tmp_path) == ([100, 200, 300], [2.0, 4.0, 7.0])


@pytest.mark.parametrize("text", ["time,loss\n1,2\n", "", "\x00\x01garbage"])
def test_files_that_are_not_metrics_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(RunDataError, match="not an a3c metrics file"):
        read_rows(_write(tmp_path, text), ("frames",))
    with pytest.raises(RunDataError, match="cannot read"):
        read_rows(tmp_path / "missing.csv", ("frames",))


def test_read_curve_keeps_training_seconds_with_their_games(tmp_path: Path) -> None:
    _write(tmp_path, HEADER + "".join(ROWS))
    assert read_curve(tmp_path) == Curve([100, 200, 300], [1.0, 3.0, 2.0], [2.0, 4.0, 7.0])


def test_training_seconds_of_older_runs_keep_counting_across_resumes() -> None:
    # Files from before checkpoints kept their training time restart near 0 at a resume.
    # Each restart continues from the last value before it: 2 s after a resume at 499 s is 499 s.
    got = stitch_wall([10.0, 500.0, 499.0, 2.0, 300.0, 1.0, 5.0])
    assert got == [10.0, 500.0, 499.0, 499.0, 797.0, 797.0, 801.0]
    assert stitch_wall([]) == []


def test_milestones_wait_for_a_full_window_and_take_the_first_game_reaching_each_score() -> None:
    # Rolling means over 2 games: -, 5, 10, 20, 15; a lone early 10 is no milestone.
    curve = Curve([10, 20, 30, 40, 50], [1.0, 2.0, 3.0, 4.0, 5.0], [10.0, 0.0, 20.0, 20.0, 10.0])
    assert milestones(curve, [5, 10, 15, 20, 21], window=2) == [
        (20, 2.0),
        (30, 3.0),
        (40, 4.0),
        (40, 4.0),
        None,
    ]
    assert milestones(Curve([], [], []), [1.0]) == [None]


def test_scores_at_equal_frames_average_the_last_games_by_each_budget() -> None:
    frames = [1000, 2000, 3000, 4000, 5000]
    curve = Curve(frames, [1.0, 2.0, 3.0, 4.0, 5.0], [10.0, 0.0, 20.0, 20.0, 10.0])
    # By 3,500 frames the last two games are 0 and 20; by 5,000 they are 20 and 10, and a run
    # whose last game ended at 5,000 counts as trained to 5,040 (its last game ends just short
    # of its budget); 6,000 was never reached, and by 1,500 only one game had finished.
    got = scores_at(curve, [3500, 5000, 5040, 6000, 1500], window=2)
    assert got == [10.0, 15.0, 15.0, None, None]
    assert scores_at(Curve([], [], []), [1]) == [None]


def test_plot_draws_reference_scores_in_their_games_panel(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"env_id": "ALE/Pong-v5"}')
    rows = "".join(f"{i * 1000},{i},{i % 7 - 3},100,0.5,0,{i * 1.0}\n" for i in range(1, 301))
    (run / "episodes.csv").write_text(
        "frames,episode,score,steps,avg_max_prob,learner,wall_s\n" + rows
    )
    plain, marked, elsewhere = (tmp_path / f"{n}.png" for n in ("plain", "marked", "elsewhere"))
    plot_runs([run], plain)
    plot_runs([run], marked, references={"Pong": {"A2C zoo": 2.0, "random": -2.5}})
    plot_runs([run], elsewhere, references={"Qbert": {"A2C zoo": 2.0}})
    assert marked.read_bytes() != plain.read_bytes()
    assert elsewhere.read_bytes() == plain.read_bytes()  # no panel of that game: nothing drawn
