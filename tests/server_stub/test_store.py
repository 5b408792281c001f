"""The online database finds what a save needs by index: a save does the same work whatever the
size of the tables (issue 11).

Work is counted, never timed: SQL statements, rows loaded into Python objects, and the virtual
machine instructions SQLite runs for them (its progress handler, called on every instruction),
which grow with every row a query reads, whether or not Python ever sees it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from server_stub import feed
from server_stub.app import ServerState, create_app
from server_stub.bench import fill_calls
from server_stub.clock import ManualClock, iso
from server_stub.schema import load_schema
from server_stub.store import (
    Base,
    FeedEntryRow,
    Store,
    create_tables,
    make_engine,
    reference_index_name,
)
from tests.server_stub.conftest import ADMIN, ANNA, Api, create, update


@dataclass
class Work:
    statements: int = 0
    rows_loaded: int = 0
    vm_steps: int = 0


@contextmanager
def counting(engine: Engine) -> Iterator[Work]:
    """Count the work the database does inside the block (SQLite): statements, rows fetched (by
    the ORM or Core alike) and virtual-machine steps."""
    work = Work()

    def step() -> int:
        work.vm_steps += 1
        return 0  # go on

    def fetched(_cursor: Any, row: tuple[Any, ...]) -> tuple[Any, ...]:
        work.rows_loaded += 1
        return row

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_progress_handler(step, 1)
        dbapi_connection.row_factory = fetched

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_progress_handler(None, 1)
        dbapi_connection.row_factory = None

    def statement(*_args: Any) -> None:
        work.statements += 1

    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (engine, "checkout", checkout),
        (engine, "checkin", checkin),
        (engine, "before_cursor_execute", statement),
    ]
    for target, name, function in listeners:
        event.listen(target, name, function)
    try:
        yield work
    finally:
        for target, name, function in listeners:
            event.remove(target, name, function)


def state_of(api: Api) -> ServerState:
    state: ServerState = api.app.state.server
    return state


def engine_of(api: Api) -> Engine:
    engine = state_of(api).engine
    assert engine is not None
    return engine


def anna_account(api: Api) -> str:
    return str(api.find("account__v", territory__v="T-NE", account_type__v="hcp__v")["id"])


def other_accounts(api: Api, but: str) -> list[str]:
    return [r["id"] for r in api.all("account__v") if r["id"] != but]


def new_call(api: Api, account: str) -> dict[str, Any]:
    answer = api.upload(
        ANNA,
        [
            create("call2__v", "tmp-c", account__v=account, call_date__v="2026-11-25"),
            create("call2_discussion__v", "tmp-d", call2__v="tmp-c", product__v="cholecap__c"),
        ],
    )
    assert answer["outcome"] == "saved", answer
    return answer


def same_work(api: Api, action: Callable[[], object], grow: Callable[[], object]) -> tuple[Work, Work]:
    """The work of ``action`` before and after ``grow`` made a table a hundred times larger."""
    engine = engine_of(api)
    action()  # statement caches warm
    with counting(engine) as small:
        action()
    grow()
    with counting(engine) as large:
        action()
    return small, large


def assert_same(small: Work, large: Work) -> None:
    assert large.statements == small.statements, (small, large)
    assert large.rows_loaded == small.rows_loaded, (small, large)
    # the same instructions, give or take a value of another length; a scan of the 990 new
    # rows would add thousands
    assert abs(large.vm_steps - small.vm_steps) <= 20, (small, large)


def grow_calls(api: Api, account: str) -> Callable[[], None]:
    """Make the Call and Call Discussion tables 990 rows larger, on accounts other than ``account``."""
    return lambda: fill_calls(state_of(api), 990, accounts=other_accounts(api, account))


@pytest.fixture
def small_world(api: Api) -> Api:
    fill_calls(state_of(api), 10)
    return api


@pytest.mark.rule("AS-17")
def test_a_new_call_and_its_accounts_rollup_cost_the_same_with_10_and_1000_calls_online(
    small_world: Api,
) -> None:
    api = small_world
    account = anna_account(api)
    small, large = same_work(api, lambda: new_call(api, account), grow_calls(api, account))
    assert_same(small, large)
    with state_of(api).transaction() as store:
        calls = [r for r in store.records("call2__v") if r.data["account__v"] == account]
        assert store.get("account__v", account)["call_count__v"] == len(calls), "the roll-up"


@pytest.mark.rule("AS-11")
def test_a_duplicate_of_a_submitted_call_costs_the_same_with_10_and_1000_calls_online(
    small_world: Api,
) -> None:
    api = small_world
    account = anna_account(api)
    submitted: list[str] = []

    def submit() -> None:
        call = new_call(api, account)["id_map"]["tmp-c"]
        api.upload(ANNA, [update("call2__v", call, status__v=("saved__v", "submitted__v"))])
        submitted.append(call)

    def duplicate() -> None:
        call = submitted[-1]
        answer = api.upload(ANNA, [update("call2__v", call, notes__v=(None, "Edited elsewhere"))])
        assert answer["outcome"] == "duplicated", answer
        (entry,) = api.feed("anna", ANNA, after=answer_seq(api) - 1)["entries"]
        fed_back = {r["object"] for r in entry["records"] if r["id"] != answer["id_map"][call]}
        assert {"call2__v", "call2_discussion__v"} <= fed_back, "the original and its discussion"

    submit()
    engine = engine_of(api)
    duplicate()
    submit()
    with counting(engine) as small:
        duplicate()
    grow_calls(api, account)()
    submit()
    with counting(engine) as large:
        duplicate()
    assert_same(small, large)


def answer_seq(api: Api) -> int:
    """The sequence number of the newest entry on Anna's feed."""
    return int(api.feed("anna", ANNA, after=10**9)["latest_seq"])


def test_deleting_a_call_and_its_details_costs_the_same_with_10_and_1000_calls_online(
    small_world: Api,
) -> None:
    api = small_world
    account = anna_account(api)

    def delete() -> None:
        answer = new_call(api, account)
        call, discussion = answer["id_map"]["tmp-c"], answer["id_map"]["tmp-d"]
        with counting(engine_of(api)) as work:
            api.upload(ANNA, [{"op": "delete", "object": "call2__v", "id": call}])
        works.append(work)
        assert discussion not in {r["id"] for r in api.all("call2_discussion__v")}, "cascaded"

    works: list[Work] = []
    delete()
    delete()
    grow_calls(api, account)()
    delete()
    assert_same(works[1], works[2])


def fill_feed(state: ServerState, user_id: str, count: int) -> None:
    """Put ``count`` small entries on a user's feed directly."""
    with state.transaction(write=True) as store:
        added = iso(state.now(store))
        for _ in range(count):
            store.session.add(
                FeedEntryRow(
                    seq=store.next_feed_seq(),
                    user_id=user_id,
                    added_at=added,
                    transaction_id=uuid.uuid4().hex,
                    origin_device="filler",
                    reason="upload",
                    payload={"records": [], "deleted": []},
                )
            )


@pytest.mark.rule("AS-18")
@pytest.mark.rule("AS-16")
def test_a_save_and_a_feed_read_cost_the_same_with_10_and_1000_entries_on_the_feed(api: Api) -> None:
    fill_feed(state_of(api), "anna", 10)
    account = anna_account(api)
    latest = api.feed("anna", ANNA)["latest_seq"]

    def save_and_read() -> None:
        new_call(api, account)
        api.feed("anna", ANNA, after=latest + 1_000_000)  # nothing new: the cursor is ahead

    small, large = same_work(api, save_and_read, lambda: fill_feed(state_of(api), "anna", 990))
    assert_same(small, large)


def captured(engine: Engine, action: Callable[[], object]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    return statements


def plans(engine: Engine, action: Callable[[Store], object]) -> str:
    """The query plans of the statements ``action`` runs, as the database would run them."""
    with Session(engine) as session, session.begin():
        statements = captured(engine, lambda: action(Store(session)))
        connection = session.connection()
        if engine.dialect.name == "postgresql":
            # tiny tables are read whole whatever the indexes: make the planner show what it can use
            connection.exec_driver_sql("SET LOCAL enable_seqscan TO off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        lines = []
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            lines += [str(row[-1]) for row in rows]
    return "\n".join(lines)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'online.db'}"
    clock = ManualClock()
    server = Api(create_app(db_url=url, clock=clock, admin_token=ADMIN), clock)
    server.ok("POST", "/api/v1/admin/reset", ADMIN)  # the sample state, whatever ran before
    yield server
    server.close()


def test_children_and_rollups_are_read_through_the_reference_index_of_their_pair(any_api: Api) -> None:
    engine = engine_of(any_api)
    account = anna_account(any_api)
    shown = plans(
        engine,
        lambda store: (
            store.children("call2_discussion__v", "call2__v", "V2C000000000001"),
            store.rollups("call2__v", "account__v", account, [None]),
            store.rollups("order_line__v", "order__v", "V3O000000000001", [None, "net_amount__v"]),
        ),
    )
    for pair in [
        ("call2_discussion__v", "call2__v"),
        ("call2__v", "account__v"),
        ("order_line__v", "order__v"),
    ]:
        assert reference_index_name(*pair) in shown, shown


def test_the_feed_is_read_through_indexes_of_its_user(any_api: Api) -> None:
    for user in ("anna", "ben", "chloe"):
        fill_feed(state_of(any_api), user, 1000)
    with engine_of(any_api).begin() as connection:
        connection.exec_driver_sql("ANALYZE")  # the planner knows the table is large
    now = any_api.clock.now()
    shown = plans(engine_of(any_api), lambda store: feed.read_feed(store, "anna", after=0, limit=10, now=now))
    assert "ix_feed_entries_user_seq" in shown, shown
    assert "ix_feed_entries_user_added" in shown, shown
    assert "SCAN feed_entries" not in shown and "Seq Scan" not in shown, shown


@pytest.mark.rule("AS-35")
def test_an_incremental_syncs_pages_are_read_through_indexes(any_api: Api) -> None:
    """The changes after a cursor from the change index, the visible IDs by primary key: a page
    reads its own rows, never the whole table."""
    with state_of(any_api).transaction(write=True) as store:
        for k in range(2000):
            put_line(store, f"T3L{k:012d}", "T3O1", net_amount__v=k)
    with engine_of(any_api).begin() as connection:
        connection.exec_driver_sql("ANALYZE")  # the planner knows the table is large
    shown = plans(
        engine_of(any_api),
        lambda store: (
            store.changed_page(100, None, 1500, 200),
            store.changed_page(100, "T3L000000000050", 1500, 200),
            store.live_page("T3L000000000500", 500),
        ),
    )
    # SQLite reads (change number, ID) in order from the pair's index; PostgreSQL may sort the
    # few rows of one change number after reading the change number's own index
    assert shown.count("ix_records_change_seq") == 2, shown
    assert "SCAN records" not in shown and "Seq Scan" not in shown, shown


def put_line(store: Store, line_id: str, order: str, **fields: Any) -> None:
    record = {"id": line_id, "order__v": order, "modified_date__v": "2026-11-26T09:00:00Z", **fields}
    store.put("order_line__v", record)


def test_rollups_count_and_sum_live_children_only_with_jsons_numbers(any_api: Api) -> None:
    """Whole numbers sum to an int and decimals to a float on every database, as in Python;
    a missing value counts 0; deleted children and other objects' records are left out."""
    with state_of(any_api).transaction(write=True) as store:
        put_line(store, "T3L000000000001", "T3O1", net_amount__v=10, quantity__v=1)
        put_line(store, "T3L000000000002", "T3O1", net_amount__v=5, quantity__v=2)
        put_line(store, "T3L000000000003", "T3O1")  # no amount
        put_line(store, "T3L000000000004", "T3O1", net_amount__v=1000)
        store.delete("T3L000000000004", "2026-11-26T09:00:00Z")
        put_line(store, "T3L000000000005", "T3O2", net_amount__v=7.25)
        put_line(store, "T3L000000000006", "T3O2", net_amount__v=0.5)
        store.put(
            "delivery_order__v",
            {"id": "T3D000000000001", "order__v": "T3O1", "modified_date__v": "2026-11-26T09:00:00Z"},
        )
        first = store.rollups("order_line__v", "order__v", "T3O1", [None, "net_amount__v", "quantity__v"])
        second = store.rollups("order_line__v", "order__v", "T3O2", ["net_amount__v", None])
        none = store.rollups("order_line__v", "order__v", "T3O3", [None, "net_amount__v"])
        children = store.children("order_line__v", "order__v", "T3O1")
        store.session.rollback()
    assert first == [3, 15, 3] and all(type(v) is int for v in first), first
    assert second == [7.75, 2] and type(second[0]) is float, second
    assert none == [0, 0], none
    assert [c["id"] for c in children] == ["T3L000000000001", "T3L000000000002", "T3L000000000003"]


def test_a_database_from_before_gets_the_indexes_it_lacks(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_feed_entries_user_added")
        connection.exec_driver_sql("DROP INDEX ix_feed_entries_user_seq")
        connection.exec_driver_sql("DROP INDEX ix_records_change_seq_id")
    pairs = load_schema().child_references()
    assert ("call2__v", "account__v") in pairs and ("call2_discussion__v", "call2__v") in pairs
    create_tables(engine, pairs)
    create_tables(engine, pairs)  # a second start changes nothing
    with engine.connect() as connection:
        names = set(
            connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars()
        )
    assert {"ix_feed_entries_user_added", "ix_feed_entries_user_seq", "ix_records_change_seq_id"} <= names
    assert {reference_index_name(*pair) for pair in pairs} <= names
    engine.dispose()


def test_names_written_into_sql_must_be_object_or_field_names(api: Api) -> None:
    with state_of(api).transaction() as store, pytest.raises(ValueError, match="not an object or field"):
        store.children("call2__v' OR 1=1 --", "account__v", "x")
    long = reference_index_name("medical_inquiry_fulfillment_response__v", "medical_inquiry_fulfillment__v")
    assert len(long) <= 63


def test_an_upload_reads_each_record_once_and_draws_each_number_in_one_statement(api: Api) -> None:
    account = anna_account(api)
    new_call(api, account)  # statement caches warm
    statements = captured(engine_of(api), lambda: new_call(api, account))
    reads = [str(p) for s, p in statements if s.startswith("SELECT") and "WHERE records.id = ?" in s]
    assert len(reads) == len(set(reads)) == 1, (
        f"the account, once (the new records are not looked for): {reads}"
    )
    draws = [s for s, _ in statements if "counters" in s]
    assert all(s.startswith("UPDATE counters") and "RETURNING" in s for s in draws), draws
    assert len(draws) == 7, (
        "two IDs, an auto-number, three changes (call, discussion, account), a feed number"
    )
    assert len(statements) <= 19, "\n".join(s for s, _ in statements)


def test_the_admins_list_of_records_reads_only_its_page(api: Api) -> None:
    fill_calls(state_of(api), 1000)
    with counting(engine_of(api)) as work:
        page = api.ok("GET", "/api/v1/admin/records?object=call2__v&offset=500&limit=20", ADMIN)
    with state_of(api).transaction() as store:
        ids = sorted(r.id for r in store.records("call2__v"))
    assert page["total"] == len(ids) == 1016, "the sample world's 16 and the 1,000 added"
    assert [r["id"] for r in page["records"]] == ids[500:520], "by ID, from the offset"
    assert work.rows_loaded == 20 + 1, "the page and its count, not the table"
    everything = api.ok("GET", "/api/v1/admin/records?offset=0&limit=5000", ADMIN)
    assert everything["total"] == len(everything["records"]) > 2000, "every object's records"


def test_a_feed_read_is_the_token_one_position_read_the_entries_and_the_room(api: Api) -> None:
    new_call(api, anna_account(api))
    device = {"X-Autosync-Device": "ipad-1", "X-Autosync-Queue": "0"}

    def read() -> None:
        response = api.request("GET", "/api/v1/feeds/anna?after=0", ANNA, headers=device)
        assert response.status_code == 200, response.text
        assert response.json()["entries"], "the Call's entry is on the feed"

    read()  # statement caches warm
    statements = [s for s, _ in captured(engine_of(api), read)]
    assert len(statements) == 4, "\n".join(statements)
    assert "users.token" in statements[0]
    assert "feed_state" in statements[1] and "min(feed_entries.added_at)" in statements[1]
    assert statements[2].startswith("SELECT feed_entries.seq")
    assert statements[3].startswith("INSERT INTO devices")


def test_the_room_keeps_what_a_request_does_not_tell(api: Api) -> None:
    told = {"X-Autosync-Device": "ipad-1", "X-Autosync-Model": "iPad Air", "X-Autosync-Queue": "3"}
    api.request("GET", "/api/v1/feeds/anna?after=0", ANNA, headers=told)
    api.advance(seconds=5)
    api.request("GET", "/api/v1/me", ANNA, headers={"X-Autosync-Device": "ipad-1"})
    (device,) = api.ok("GET", "/api/v1/admin/devices", ADMIN)["devices"]
    assert (device["model"], device["queue_length"]) == ("iPad Air", 3), device
    assert device["last_seen_at"] > device["last_poll_at"], "seen again later, without a poll"
