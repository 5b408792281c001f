"""``autosync-emulator scenario run FILE...``: play scenarios headless, for people and for CI.

Every file is read and checked first; a bad file stops everything before anything runs (exit 2,
``FILE:LINE: what is wrong``). Then each scenario is played on its own fresh stage, printing each
step, its ``say:`` lines and each check (✓ / ✗). Exit 0 when every check passed, 1 otherwise.
``--junit-xml PATH`` writes one JUnit test case per scenario for CI.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from emulator.scenarios.loader import ScenarioFileError, load_scenario
from emulator.scenarios.model import Scenario
from emulator.scenarios.runner import ScenarioResult, StepResult, run_scenario

PASS, FAIL = "✓", "✗"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="autosync-emulator scenario",
        description="Play Autosync scenarios headless on a fresh emulated stage.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="play scenario files and check their expect: lines")
    run.add_argument("files", nargs="+", type=Path, metavar="FILE", help="scenario YAML files")
    run.add_argument("--seed", type=int, metavar="N", help="random seed (default: each file's seed:)")
    run.add_argument("--junit-xml", type=Path, metavar="PATH", help="write a JUnit XML report to PATH")
    run.add_argument("-q", "--quiet", action="store_true", help="print only each scenario's outcome")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    scenarios: list[Scenario] = []
    bad: list[ScenarioFileError] = []
    for path in args.files:
        try:
            scenarios.append(load_scenario(path))
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
    for scenario in scenarios:
        results.append(play_and_print(scenario, args.seed, out, quiet=args.quiet))
    passed = sum(r.passed for r in results)
    print(f"\n{passed} of {len(results)} scenario(s) passed.", file=out)
    if args.junit_xml:
        write_junit(args.junit_xml, results, [])
    return 0 if passed == len(results) else 1


def play_and_print(
    scenario: Scenario, seed: int | None, out: TextIO, *, quiet: bool = False
) -> ScenarioResult:
    rules = f" [{', '.join(scenario.rules)}]" if scenario.rules else ""
    print(f"\n▶ {scenario.source}: {scenario.title}{rules}", file=out)

    def show(result: StepResult) -> None:
        if not quiet:
            print(step_text(result), file=out)

    result = run_scenario(scenario, seed, on_step=show)
    checks = result.checks
    failed = [c for c in checks if not c.passed]
    if result.passed:
        print(f"{PASS} passed: {len(checks)} check(s), seed {result.seed}, {result.seconds:.1f} s", file=out)
    else:
        print(f"{FAIL} FAILED: {len(failed)} of {len(checks)} check(s) failed, seed {result.seed}", file=out)
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
