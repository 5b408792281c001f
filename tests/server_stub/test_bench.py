"""The server's benchmark keeps the contract the emulator's ``bench`` command reads (nothing timed)."""

from __future__ import annotations

import asyncio

import pytest

from server_stub import bench

KEYS = {"what": str, "measured": float, "floor": float, "goal": float, "note": str}


def test_the_figures_are_what_the_bench_command_reads() -> None:
    figures = asyncio.run(bench.measure(10, 100, repeats=1, rounds=1))
    assert len(figures) == 4
    assert len({f["what"] for f in figures}) == 4
    for figure in figures:
        assert set(figure) == set(KEYS), figure
        for key, kind in KEYS.items():
            assert isinstance(figure[key], kind), (key, figure)
        assert float(str(figure["measured"])) > 0 and float(str(figure["floor"])) > 0
    assert [f["goal"] for f in figures] == [1.5, 1.5, 1.5, 3.0]
    assert "116 Calls online" in str(figures[0]["note"]), "the sample world's 16 and the 100 added"
    assert "SQL statements" in str(figures[3]["note"])


def test_the_command_prints_a_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[bool] = []

    def figures(quick: bool) -> list[dict[str, object]]:
        asked.append(quick)
        return [{"what": "a save", "measured": 0.003, "floor": 0.002, "goal": 1.5, "note": "n"}]

    monkeypatch.setattr(bench, "save_cost_figures", figures)
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert asked == [True]
    assert "a save" in out and "3.00ms" in out and "2.00ms" in out and "1.50x" in out


def test_filled_calls_are_counted_on_their_accounts_rollup() -> None:
    async def run() -> tuple[int, int, int]:
        with bench._folder() as folder:
            async with bench._server(folder, "fill") as server:
                before = bench.account_calls(server)
                bench.fill_calls(server.state, 36)
                with server.state.transaction() as store:
                    account = store.get("account__v", server.account)
                    assert account is not None
                    stored = int(account["call_count__v"])
                await server.new_call()  # the server numbers on past the filled Calls
                return before, stored, bench.account_calls(server)

    before, stored, after = asyncio.run(run())
    assert stored == before + 2, "36 Calls over the sample world's 18 accounts: 2 more on each"
    assert after == stored + 1
