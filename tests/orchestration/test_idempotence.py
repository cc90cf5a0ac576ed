"""Idempotence: the same month materialized three times gives identical tables, on a real SQLite
file and a real PostgreSQL database (``db_url``), through the ``score_months`` asset (single
run, with the ``webhook_events`` asset after it) and through ``score_months_parallel_job`` -- and
the two paths give the same tables. A webhook subscription exists throughout: a rerun adds no
event to the outbox and no delivery.

"Identical" is ``tests.support.tables.fingerprint``: every table's row count and sha256 over its sorted
rows, read with plain SQL. Only ``scored_month.run_id`` / ``materialized_at`` may change (which
run wrote the month, and when), and only for the month rewritten. The parallel job runs here
with Dagster's in-process executor (the same ops, resources and writes; the multiprocess
executor is exercised in test_parallel_months.py, where its six months are compared with the
single-run path).
"""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration import parallel
from orchestration import specs as S
from orchestration.assets import score_months
from orchestration.definitions import defs
from orchestration.webhooks import WEBHOOK_EVENTS, webhook_events
from storage import results as R
from storage import webhooks as W
from storage.engines import get_engine
from tests.support.dagster_runs import materialize
from tests.support.inputs import EXAMPLE, JUN, MAY
from tests.support.tables import duplicate_keys, fingerprint, month_rows

pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is missing")
TIMES = 3
ASSETS = (score_months, webhook_events)


def run_parallel_job(db_url: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(parallel.JOB_NAME)
    config = parallel.run_config(first=JUN, data=str(EXAMPLE), database=db_url)
    return job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)


def test_the_same_month_three_times_gives_identical_tables(db_url):
    engine = get_engine(db_url)
    # the month's webhook events too, with a subscription: a rerun adds no event and no delivery
    W.add_subscription(engine, url="https://example.test/hook", secret="s")
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(db_url, months=[MAY], instance=instance, assets=ASSETS).success  # a neighbour
        may_run = R.read_frame(engine, "scored_months", months=[MAY])["run_id"].to_list()

        paths = {
            "asset": lambda: materialize(db_url, months=[JUN], instance=instance, assets=ASSETS),
            "parallel job": lambda: run_parallel_job(db_url, instance),
        }
        stable, volatile = [], []
        for path, run in paths.items():
            for i in range(TIMES):
                result = run()
                assert result.success, f"{path} run {i + 1}"
                materialized = {(e.asset_key, e.partition) for e in result.get_asset_materialization_events()}
                keys = [S.SNAPSHOT, *map(dg.AssetKey, S.RESULT_ORDER), WEBHOOK_EVENTS]
                assert materialized == {(k, "2024-06-01") for k in keys}
                stable.append((path, fingerprint(engine, volatile=False)))
                volatile.append(fingerprint(engine))
                scored = R.read_frame(engine, "scored_months")
                assert scored["month"].to_list() == [MAY, JUN]
                assert scored["run_id"].to_list() == [*may_run, result.run_id]

    first = stable[0][1]
    assert all(t.rows > 0 for name, t in first.items() if name != "api_token"), first
    for path, tables in stable[1:]:
        assert tables == first, f"{path}: the tables differ from the first materialization"
    # with run ids and times: only scored_month changes from one run to the next
    for before, after in zip(volatile, volatile[1:], strict=False):
        assert {n for n in after if after[n] != before[n]} == {"scored_month"}
    rows = month_rows(engine)
    assert all(set(per_month) == {MAY, JUN} for per_month in rows.values())
    assert set(duplicate_keys(engine).values()) == {0}
