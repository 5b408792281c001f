"""``autosync-emulator scenario run FILE...``: play scenarios headless, for people and for CI.

Every file is read and checked first; a bad file stops everything before anything runs (exit 2,
``FILE:LINE: what is wrong``). Then each scenario is played on its own fresh stage, printing each
step, its ``say:`` lines and each check (✓ / ✗). Exit 0 when every check passed, 1 otherwise.
``--junit-xml PATH`` writes one JUnit test case per scenario for CI. ``--server URL --token T``
plays on a standalone ``autosync-stub`` instead of the embedded server, resetting it to its
sample data before each scenario (``--keep-data`` does not; see :mod:`emulator.scenarios.remote`).

A FILE may also be a bug bundle (see :mod:`emulator.scenarios.bundle`): its scenario is played
with its seed, and the replayed event stream is compared with the recorded one; the first
difference is printed and counts as a failure.

``scenario schema`` writes the format's JSON Schema, ``scenario docs`` its reference (both made
from the language's classes, see :mod:`emulator.scenarios.reference`).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from emulator.heap import freeze_survivors_now
from emulator.scenarios import reference
from emulator.scenarios.bundle import (
    Bundle,
    app_version,
    first_difference,
    is_bundle,
    load_bundle,
    plain_events,
)
from emulator.scenarios.loader import ScenarioFileError, load_scenario
from emulator.scenarios.model import Scenario
from emulator.scenarios.remote import Server
from emulator.scenarios.runner import ScenarioResult, StepResult, run_scenario
from emulator.scenarios.writer import write_file

PASS, FAIL = "✓", "✗"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="autosync-emulator scenario",
        description="Play Autosync scenarios headless on a fresh emulated stage.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="play scenario files and check their expect: lines")
    run.add_argument("files", nargs="+", type=Path, metavar="FILE", help="scenario YAML files or bug bundles")
    run.add_argument("--seed", type=int, metavar="N", help="random seed (default: each file's seed:)")
    run.add_argument("--junit-xml", type=Path, metavar="PATH", help="write a JUnit XML report to PATH")
    run.add_argument("-q", "--quiet", action="store_true", help="print only each scenario's outcome")
    run.add_argument("--server", metavar="URL", help="play on a standalone autosync-stub at URL")
    run.add_argument("--token", metavar="T", help="the standalone server's admin token (with --server)")
    run.add_argument(
        "--keep-data",
        action="store_true",
        help="with --server: play on the server's data as it is (default: reset it to its sample data first)",
    )
    for name, what in (
        ("schema", "the JSON Schema of scenario files"),
        ("docs", "the reference, as Markdown"),
    ):
        command = commands.add_parser(name, help=f"write {what}")
        command.add_argument(
            "--output", "-o", type=Path, metavar="PATH", help="write it to PATH (default: print it)"
        )
    args = parser.parse_args(list(argv))
    if args.command == "run" and (args.server is None) != (args.token is None):
        parser.error("--server and --token go together")
    if args.command == "run" and args.keep_data and args.server is None:
        parser.error("--keep-data needs --server")
    return args


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    if args.command == "run":
        return run(args, out)
    text = reference.schema_text() if args.command == "schema" else reference.markdown()
    if args.output is None:
        out.write(text)
    else:
        write_file(args.output, text)
        print(f"wrote {args.output}", file=out)
    return 0


def run(args: argparse.Namespace, out: TextIO) -> int:
    """``scenario run``: read every file, then play each; the exit code says how it went."""
    server = None if args.server is None else Server(args.server, args.token, reset=not args.keep_data)
    scenarios: list[Scenario] = []
    bundles: dict[int, Bundle] = {}  # index in scenarios -> the bundle it came from
    bad: list[ScenarioFileError] = []
    for path in args.files:
        try:
            if is_bundle(path):
                loaded = load_bundle(path)
                bundles[len(scenarios)] = loaded
                scenarios.append(loaded.scenario)
            else:
                scenarios.append(load_scenario(path, embedded=server is None))
        except ScenarioFileError as exc:
            bad.append(exc)
    if bad:
        for problem in bad:
            print(f"{FAIL} {problem}", file=out)
        print(f"{len(bad)} bad scenario file(s): nothing was run.", file=out)
        if args.junit_xml:
            write_junit(args.junit_xml, [], bad)
        return 2
    results = []
    diverged = 0
    for n, scenario in enumerate(scenarios):
        if n < 2:  # what lives to the end: modules, the library, then the embedded server's app
            freeze_survivors_now()
        bundle = bundles.get(n)
        seed = args.seed if args.seed is not None or bundle is None else bundle.seed
        results.append(play_and_print(scenario, seed, out, quiet=args.quiet, server=server))
        if bundle is not None and not compare_with_bundle(bundle, results[-1], out):
            diverged += 1
    passed = sum(r.passed for r in results)
    print(f"\n{passed} of {len(results)} scenario(s) passed.", file=out)
    if diverged:
        print(f"{diverged} bundle replay(s) differ from the recorded event stream.", file=out)
    if args.junit_xml:
        write_junit(args.junit_xml, results, [])
    return 0 if passed == len(results) and not diverged else 1


def compare_with_bundle(bundle: Bundle, result: ScenarioResult, out: TextIO) -> bool:
    """Print whether the replay gave the bundle's event stream, event for event."""
    replayed = plain_events(result.events)
    difference = first_difference(bundle.events, replayed)
    if difference is None:
        print(f"{PASS} the replay matches the bundle's {len(replayed)} events, event for event", file=out)
        return True
    print(f"{FAIL} the replay differs from the bundle (seed {bundle.seed}): {difference}", file=out)
    if bundle.app_version != app_version():
        print(f"    the bundle was saved by version {bundle.app_version}, this is {app_version()}", file=out)
    return False


def play_and_print(
    scenario: Scenario, seed: int | None, out: TextIO, *, quiet: bool = False, server: Server | None = None
) -> ScenarioResult:
    rules = f" [{', '.join(scenario.rules)}]" if scenario.rules else ""
    where = "" if server is None else f" (on {server.url})"
    print(f"\n▶ {scenario.source}: {scenario.title}{rules}{where}", file=out)

    def show(result: StepResult) -> None:
        if not quiet:
            print(step_text(result), file=out)

    result = run_scenario(scenario, seed, server=server, on_step=show)
    checks = result.checks
    failed = [c for c in checks if not c.passed]
    if result.passed:
        print(f"{PASS} passed: {len(checks)} check(s), seed {result.seed}, {result.seconds:.1f} s", file=out)
        return result
    if result.steps:
        print(f"{FAIL} FAILED: {len(failed)} of {len(checks)} check(s) failed, seed {result.seed}", file=out)
    else:
        print(f"{FAIL} FAILED: it could not start, seed {result.seed}", file=out)
    for line in result.failures():
        print(f"    {line}", file=out)
    return result


def step_text(result: StepResult) -> str:
    """A step as printed: its number, clock time, what it does, its narration and its checks."""
    step = result.step
    clock = result.time.strftime("%d %b %H:%M:%S")
    lines = [f"  {result.number:>2}. {clock}  {step.describe()}" + (" (setup)" if step.setup else "")]
    if step.say:
        for para in textwrap.wrap(step.say, 96):
            lines.append(f"        » {para}")
    if result.message:
        mark = "" if result.ok else f"{FAIL} "
        lines.append(f"        {mark}{result.message}")
    for check in result.checks:
        lines.append(f"        {PASS if check.passed else FAIL} {check.message}")
    return "\n".join(lines)


def write_junit(path: Path, results: Sequence[ScenarioResult], bad: Sequence[ScenarioFileError]) -> None:
    """One test case per scenario; a failed check is a failure, a bad file or stopped run an error."""
    suite = ET.Element(
        "testsuite",
        name="autosync-scenarios",
        tests=str(len(results) + len(bad)),
        failures=str(sum(1 for r in results if not r.passed and r.error is None)),
        errors=str(len(bad) + sum(1 for r in results if r.error is not None)),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for result in results:
        scenario = result.scenario
        case = ET.SubElement(
            suite,
            "testcase",
            classname="scenarios." + (scenario.path.stem if scenario.path else "scenario"),
            name=scenario.title,
            file=scenario.source,
            time=f"{result.seconds:.3f}",
        )
        ET.SubElement(case, "properties")
        props = case.find("properties")
        assert props is not None
        ET.SubElement(props, "property", name="seed", value=str(result.seed))
        ET.SubElement(props, "property", name="rules", value=",".join(scenario.rules))
        if not result.passed:
            failures = result.failures()
            tag = "error" if result.error is not None else "failure"
            element = ET.SubElement(case, tag, message=failures[0] if failures else "failed")
            element.text = "\n".join(failures)
        ET.SubElement(case, "system-out").text = "\n".join(step_text(s) for s in result.steps)
    for exc in bad:
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=exc.source, file=exc.source)
        ET.SubElement(case, "error", message=str(exc)).text = str(exc)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


if __name__ == "__main__":
    sys.exit(main())
