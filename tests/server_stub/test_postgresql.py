"""The same save logic, feed and sync on PostgreSQL: the server runs on any SQLAlchemy URL.

Each case is a test of the SQLite suite, played again against a private PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from server_stub.app import create_app
from server_stub.clock import ManualClock
from tests.server_stub import test_feed, test_saving, test_sync
from tests.server_stub.conftest import ADMIN, Api

CASES: list[Callable[[Api], None]] = [
    test_saving.test_create_gets_server_id_autonumber_formula_dates_and_trigger_fields,
    test_saving.test_two_devices_racing_for_one_record_first_save_wins,
    test_saving.test_family_edits_override_without_previous_value_check,
    test_saving.test_submitted_call_edited_elsewhere_becomes_a_duplicate_with_its_children,
    test_saving.test_validation_error_is_a_sync_error_and_saves_nothing_of_the_transaction,
    test_saving.test_retried_transaction_id_gets_the_original_answer_and_changes_nothing,
    test_feed.test_every_uploaded_record_goes_on_the_users_feed_at_once,
    test_feed.test_a_saved_child_puts_its_master_on_the_feed_with_its_rollup,
    test_feed.test_entries_expire_after_seven_days_and_a_late_reader_is_told,
    test_sync.test_full_sync_returns_only_what_the_where_clauses_allow,
    test_sync.test_an_online_edit_reaches_devices_only_by_incremental_sync,
    test_sync.test_territory_alignment_moves_accounts_between_users,
    test_sync.test_metadata_and_content_changes_arrive_by_incremental_sync,
]


@pytest.fixture
def pg_api(postgres_url: str) -> Iterator[Api]:
    clock = ManualClock()
    server = Api(create_app(db_url=postgres_url, clock=clock, admin_token=ADMIN), clock)
    server.ok("POST", "/api/v1/admin/reset", ADMIN)  # the sample state, whatever ran before
    yield server
    server.close()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__.removeprefix("test_"))
def test_save_logic_on_postgresql(case: Callable[[Api], None], pg_api: Api) -> None:
    assert pg_api.app.state.server.engine.dialect.name == "postgresql"
    case(pg_api)
