"""The benchmark command (issue 11): it measures, prints ratios and goals, and asserts nothing about time."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from emulator.app import main as app_main
from emulator.bench.drain import DrainPoint
from emulator.bench.figures import Figure, table
from emulator.bench.plot import HEIGHT, WIDTH, growth_png


def test_a_figure_is_a_ratio_against_its_floor_held_to_its_goal() -> None:
    fast = Figure("drain", measured=0.020, floor=0.010, goal=3.0, floor_is="bare POSTs")
    slow = Figure("sync", measured=0.090, floor=0.010, goal=3.0, floor_is="bare POSTs", note="10,000 records")
    assert (fast.ratio, fast.met) == (2.0, True)
    assert (round(slow.ratio, 6), slow.met) == (9.0, False)
    lines = table([fast, slow]).splitlines()
    assert lines[2] == "| drain | 20.00 ms | 10.00 ms: bare POSTs | 2.0x | 3x | met |"
    assert lines[3].startswith("| sync (10,000 records) | 90.00 ms |") and lines[3].endswith("| NOT MET |")
    assert Figure("x", 1.0, 0.0, 1.0, "nothing").met is False  # a zero floor is never "within"


def test_the_growth_chart_is_a_png_of_the_curve(qapp: object, tmp_path: Path) -> None:
    points = [DrainPoint(100, 0.008), DrainPoint(1_000, 0.009), DrainPoint(10_000, 0.018)]
    creates = [DrainPoint(100, 0.007), DrainPoint(1_000, 0.007), DrainPoint(10_000, 0.0075)]
    path = growth_png(
        {"edits": points, "new records": creates}, 0.0013, tmp_path / "charts" / "drain-growth.png"
    )
    image = QImage(str(path))
    assert (image.width(), image.height()) == (WIDTH, HEIGHT)
    colours = {image.pixelColor(x, y).name() for x in range(0, WIDTH, 7) for y in range(0, HEIGHT, 7)}
    assert {"#1d4ed8", "#15803d"} <= colours  # both curves are drawn, not only the axes
    with pytest.raises(ValueError, match="at least two"):
        growth_png({"edits": points[:1]}, 0.001, tmp_path / "one.png")


def test_bench_quick_writes_the_table_with_every_figure_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = app_main(["bench", "--quick", "--only", "propagation", "--out", str(tmp_path)])
    assert code == 0
    written = (tmp_path / "figures.md").read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert written.strip() in printed
    row = next(line for line in written.splitlines() if line.startswith("| save on one iPad"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].endswith("ms") and cells[3].endswith("x") and cells[4] == "3x"
    assert cells[5] in {"met", "NOT MET"}
    met = 1 if cells[5] == "met" else 0
    assert f"\n{met} of 1 figures within their goal.\n" in written


def test_bench_refuses_an_unknown_part_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        app_main(["bench", "--only", "everything"])
    assert stopped.value.code == 2
    assert "invalid choice: 'everything'" in capsys.readouterr().err
