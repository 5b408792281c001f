"""``autosync-emulator scenario run``: output, exit codes and the JUnit XML report."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emulator.scenarios import cli
from emulator.scenarios.loader import library_dir
from tests.conftest import detached_from_running_loop
from tests.stub_process import ADMIN_TOKEN, running_stub

GOOD = library_dir() / "as03_upload_at_once.yaml"
FAILING = """\
title: A check that fails
devices: [{id: ipad, user: anna}]
steps:
  - say: Nothing has happened yet.
    expect:
      - {queue: ipad, count: 5}
"""
BAD = "title: Broken\ndevices: [{id: ipad, user: anna}]\nsteps:\n  - {ipad: explode}\n"


def run(*args: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    with detached_from_running_loop():
        code = cli.main(["run", *map(str, args)], out=out)
    return code, out.getvalue()


def test_a_passing_scenario_prints_its_story_and_checks_and_exits_0() -> None:
    code, out = run(GOOD)
    assert code == 0
    assert "» Anna adds Dr. Okafor's e-mail address" in out
    assert "✓ queue on ipad: count 0" in out
    assert "1 of 1 scenario(s) passed." in out


def test_a_failed_expect_exits_1_and_says_where(tmp_path: Path) -> None:
    failing = tmp_path / "failing.yaml"
    failing.write_text(FAILING)
    code, out = run(GOOD, failing)
    assert code == 1
    assert "✗ queue on ipad: count 5; but it holds 0: []" in out
    assert f"{failing}:6: queue on ipad" in out
    assert "1 of 2 scenario(s) passed." in out


def test_a_bad_file_exits_2_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    code, out = run(GOOD, bad)
    assert code == 2
    assert f"{bad}:4: unknown step 'ipad'" in out
    assert "▶" not in out, "nothing ran"


def test_junit_xml_has_one_testcase_per_scenario_with_failure_details(tmp_path: Path) -> None:
    failing = tmp_path / "failing.yaml"
    failing.write_text(FAILING)
    report = tmp_path / "out" / "junit.xml"
    with detached_from_running_loop():
        code = cli.main(
            ["run", str(GOOD), str(failing), "--junit-xml", str(report), "--seed", "3", "-q"],
            out=io.StringIO(),
        )
    assert code == 1
    suite = ET.parse(report).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "testsuite",
        "2",
        "1",
        "0",
    )
    good, bad = suite.findall("testcase")
    assert good.find("failure") is None and good.get("name") == "With a connection, a save uploads at once"
    seed = good.find("properties/property[@name='seed']")
    assert seed is not None and seed.get("value") == "3"
    failure = bad.find("failure")
    assert failure is not None and "count 5; but it holds 0" in (failure.get("message") or "")


def test_junit_xml_reports_a_bad_file_as_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    report = tmp_path / "junit.xml"
    code, _ = run(bad, "--junit-xml", report)
    assert code == 2
    suite = ET.parse(report).getroot()
    (case,) = suite.findall("testcase")
    error = case.find("error")
    assert error is not None and ":4: unknown step" in (error.get("message") or "")


def test_the_desktop_entry_point_dispatches_scenario_run() -> None:
    from emulator.app import main

    with detached_from_running_loop():
        assert main(["scenario", "run", "-q", str(GOOD)]) == 0


def test_a_device_of_an_unknown_user_is_a_bad_file_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "zed.yaml"
    bad.write_text("title: Zed\ndevices:\n  - {id: ipad, user: zed}\nsteps:\n  - say: hi\n")
    code, out = run(bad)
    assert code == 2
    assert f"{bad}:3: user: no user 'zed' on the embedded server (its users: anna, ben, chloe)" in out
    assert "Traceback" not in out


AS07 = library_dir() / "as07_first_save_wins.yaml"
EXPIRY = """\
title: Seven days on the stage are seven days on the standalone server
devices: [{id: pro, name: Pro, user: anna}]
records:
  harper: {object: account__v, where: {last_name__v: Harper}}
steps:
  - {poll_interval: 1d}
  - edit: harper
    set: {phone__v: "+1 617-555-0707"}
    then: save
    expect:
      - {feed: anna, count: 1}
  - advance: 7d 1s
    expect:
      - {feed: anna, count: 0}
"""


@pytest.mark.rule("AS-07")
@pytest.mark.rule("AS-18")
def test_scenario_run_plays_on_a_standalone_server(tmp_path: Path) -> None:
    expiry = tmp_path / "expiry.yaml"
    expiry.write_text(EXPIRY)
    zed = tmp_path / "zed.yaml"
    zed.write_text("title: Zed\ndevices:\n  - {id: ipad, user: zed}\nsteps:\n  - say: hi\n")
    with running_stub(tmp_path / "stub.db") as url:
        server = ["--server", url, "--token", ADMIN_TOKEN]
        code, out = run(AS07, AS07, expiry, *server)
        assert code == 0, out
        assert f"(on {url})" in out and "3 of 3 scenario(s) passed." in out, (
            "reset before each, clock following"
        )

        code, out = run(AS07, *server, "--keep-data")
        assert code == 1 and "as07_first_save_wins.yaml:19: harper on pro" in out, (
            "the last run's data stayed"
        )

        code, out = run(zed, *server)
        assert code == 1 and f"{zed}:3: ipad cannot join the stage: no user 'zed' on the server" in out

        code, out = run(AS07, "--server", url, "--token", "not-the-token")
        assert code == 1 and f"the server at {url} refused the admin token" in out
    code, out = run(AS07, "--server", url, "--token", ADMIN_TOKEN)
    assert code == 1 and f"cannot reach the server at {url}" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    "args",
    [["--server", "http://127.0.0.1:1"], ["--token", "t"], ["--keep-data"]],
    ids=["no token", "no server", "keep"],
)
def test_server_options_go_together(args: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.parse_args(["run", str(AS07), *args])
    assert info.value.code == 2
