"""Staged shards and their publication (storage/results/staging.py), on a real SQLite file and a
real PostgreSQL database (``db_url``): the month published from the shards' staged rows is, table
for table, what ``write_results`` stores for the single-process scoring of the month; publishing
is all or nothing (a shard missing, an association id clash: the stored month is unchanged);
a shard staged again replaces its rows; readers see the month before or after, never a part."""

from __future__ import annotations

import datetime as dt
import threading

import polars as pl
import pytest
import sqlalchemy as sa

from scoring import service
from scoring.shards import Shard
from storage import migrate
from storage import results as R
from storage.engines import READ_ONLY, dispose_engines, get_engine
from storage.models import metadata
from storage.results import staging as S
from tests.support.paths import EXAMPLE_DATA
from tests.support.synthetic import synthetic_results
from tests.support.tables import fingerprint

DEC = dt.date(2024, 12, 1)
NOV = dt.date(2024, 11, 1)
RUN = "run-sharded"


@pytest.fixture(scope="module")
def single():
    """The single-process scoring of 2024-12 (and 2024-11) of the example folder."""
    return {m: service.score_months([m], directory=EXAMPLE_DATA) for m in (NOV, DEC)}


@pytest.fixture(scope="module")
def shards():
    """2024-12 scored in 4 and in 8 shards."""
    return {n: [service.score_shard(DEC, Shard(k, n), directory=EXAMPLE_DATA) for k in range(n)] for n in (1, 4, 8)}


STALE = synthetic_results([DEC], partners=7)
"""An earlier version of 2024-12 (synthetic rows): the month a publication replaces."""


def write_history(engine, single) -> None:
    """2024-11 as the single-process path writes it, and a stale 2024-12."""
    write_single(engine, single[NOV], NOV)
    R.write_results(engine, months=[DEC], frames=STALE, scored=[{"month": DEC, "run_id": "stale"}])


@pytest.fixture(scope="module")
def reference(single, tmp_path_factory):
    """What the single-process path stores: the history, then 2024-12 written by ``write_results``
    (the stale month's associations and partners stay, as they do after any rewrite)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.sqlite'}"
    migrate.upgrade(url)
    engine = get_engine(url)
    write_history(engine, single)
    write_single(engine, single[DEC], DEC)
    try:
        yield fingerprint(engine, volatile=False)
    finally:
        dispose_engines(url)


def write_single(engine, scored, month) -> None:
    R.write_results(engine, months=[month], frames=scored.result.frames(), partners=scored.partners)


def stage(engine, staged: S.StagedMonth, parts, only=None) -> None:
    for part in parts:
        if only is None or part.shard.index in only:
            S.stage_shard(
                engine, staged=staged, shard=part.shard.index, frames=part.result.frames(), partners=part.partners
            )


def publish(engine, staged: S.StagedMonth, parts):
    return S.publish(engine, staged=staged, rulebook_id=parts[0].rulebook_id, run_id=RUN)


@pytest.mark.parametrize("n", [1, 4, 8])
def test_a_published_month_is_what_write_results_stores(engine, single, shards, reference, n):
    """2024-11 written by the single-process path, a stale 2024-12 replaced by the shards'
    publication: every table equals the reference, row for row."""
    write_history(engine, single)
    staged = S.StagedMonth(f"b{n}", DEC, n)
    stage(engine, staged, shards[n])
    assert set(S.staged_batches(engine)) == {f"b{n}"}
    counts = publish(engine, staged, shards[n])
    assert fingerprint(engine, volatile=False) == reference
    want = single[DEC].result.frames()
    assert {name: counts[name] for name in R.RESULTS} == {name: df.height for name, df in want.items()}
    assert S.staged_batches(engine) == {}  # dropped with the publication
    with engine.connect() as conn:
        t = metadata.tables["scored_month"]
        run = conn.execute(sa.select(t.c.run_id, t.c.partners_scored).where(t.c.month == DEC)).one()
    assert tuple(run) == (RUN, want["designations"].height)


def test_a_shard_not_staged_publishes_nothing(engine, single, shards):
    write_single(engine, single[DEC], DEC)
    before, stored = fingerprint(engine), fingerprint(engine, volatile=False)
    staged = S.StagedMonth("partial", DEC, 4)
    stage(engine, staged, shards[4], only={0, 1, 3})
    with pytest.raises(S.StagingIncomplete, match=r"2024-12: 1 of 4 shard\(s\) not staged .*shards 2\)"):
        publish(engine, staged, shards[4])
    assert fingerprint(engine) == before
    assert len(S.staged_batches(engine)["partial"]) == 3 * len(S.STAGED)  # kept for a rerun of shard 2
    stage(engine, staged, shards[4], only={2})  # the shard run again: now it publishes
    publish(engine, staged, shards[4])
    assert fingerprint(engine, volatile=False) == stored  # the single-process month again


def test_a_shard_staged_again_replaces_its_rows(engine, single, shards, reference):
    """A shard staged with other rows (a run killed after staging, say, and redelivered with
    different input) and staged again holds its second rows only."""
    write_history(engine, single)
    staged = S.StagedMonth("again", DEC, 4)
    parts = shards[4]
    wrong = parts[1].result.frames()
    wrong["designations"] = wrong["designations"].with_columns(pl.col("score") + 1)
    wrong["metric_points"] = wrong["metric_points"].head(3)
    S.stage_shard(engine, staged=staged, shard=1, frames=wrong, partners=parts[1].partners)
    stage(engine, staged, parts)  # every shard, shard 1 again
    assert len(S.staged_batches(engine)["again"]) == 4 * len(S.STAGED)
    publish(engine, staged, parts)
    assert fingerprint(engine, volatile=False) == reference


def test_an_association_id_naming_another_association_publishes_nothing(engine, single, shards):
    write_single(engine, single[DEC], DEC)
    before = fingerprint(engine)
    staged = S.StagedMonth("clash", DEC, 4)
    parts = shards[4]
    frames = parts[2].result.frames()
    # a stored association's id, under other values: what a hash collision would look like
    with engine.connect() as conn:
        t = metadata.tables["association"]
        stored_id = conn.execute(sa.select(t.c.id).order_by(t.c.id).limit(1)).scalar_one()
    stage(engine, staged, parts)
    with engine.begin() as conn:
        name = staged.name(2, R.OTHER["associations"])
        target = f'"pcs_partitions"."{name}"' if conn.dialect.name == "postgresql" else f'"{name}"'
        conn.exec_driver_sql(f"UPDATE {target} SET id = {stored_id} WHERE id = (SELECT MIN(id) FROM {target})")
    with pytest.raises(ValueError, match=f"id {stored_id} already names another association"):
        publish(engine, staged, parts)
    assert fingerprint(engine) == before
    assert frames  # the shard's frames were real


def test_staged_rows_are_checked_before_the_database_is_touched(engine, shards):
    part = shards[4][0]
    frames = part.result.frames()
    frames["designations"] = frames["designations"].with_columns(month=pl.lit(NOV))
    staged = S.StagedMonth("bad", DEC, 4)
    with pytest.raises(ValueError, match="rows for months not being written"):
        S.stage_shard(engine, staged=staged, shard=0, frames=frames, partners=part.partners)
    assert S.staged_batches(engine) == {}
    with pytest.raises(ValueError, match="batch"):
        S.StagedMonth("Not-A-Batch", DEC, 4)
    with pytest.raises(ValueError, match="shard 4"):
        staged.name(4, R.RESULTS["holdings"])


def test_the_staging_of_dead_runs_is_dropped(engine, shards):
    for batch in ("dead", "alive"):
        stage(engine, S.StagedMonth(batch, DEC, 4), shards[4], only={0, 3})
    assert set(S.staged_batches(engine)) == {"dead", "alive"}
    assert S.drop_batches(engine, ["dead", "unknown"]) == 2 * len(S.STAGED)
    assert set(S.staged_batches(engine)) == {"alive"}
    assert S.drop_batches(engine, []) == 0


# ---- what readers see --------------------------------------------------------------------------


def _month_state(engine) -> tuple:
    """Rows of 2024-12 per result table, the partners, and the scored_month row, in one snapshot
    (PostgreSQL: REPEATABLE READ after locking the tables in the swap order)."""
    tables = ["scored_month", "partner", *(spec.table.name for spec in R.RESULTS.values())]
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn = conn.execution_options(**READ_ONLY)
        with conn.begin():
            R.lock_for_reading(conn)
            counts = []
            for name in tables:
                t = metadata.tables[name]
                q = sa.select(sa.func.count()).select_from(t)
                if "month" in t.c:
                    q = q.where(t.c.month == DEC)
                counts.append(conn.execute(q).scalar_one())
            sm = metadata.tables["scored_month"]
            run = conn.execute(sa.select(sm.c.run_id).where(sm.c.month == DEC)).scalar()
    return (*counts, run)


def test_readers_see_the_month_before_or_after_a_publication(engine, db_url, single, shards):
    """A reader in a loop while the month is published from 8 shards, five times, alternating with
    a stale version written by ``write_results``: every snapshot it takes is one of the two whole
    states, never some shards of one and the rest of the other."""
    parts = shards[8]
    write_history(engine, single)
    old = _month_state(engine)
    seen: list[tuple] = []
    stop = threading.Event()

    def read() -> None:
        reader = get_engine(db_url)
        while not stop.is_set():
            seen.append(_month_state(reader))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(5):
            staged = S.StagedMonth(f"r{i}", DEC, 8)
            stage(engine, staged, parts)
            publish(engine, staged, parts)
            if i == 0:
                new = _month_state(engine)
            R.write_results(engine, months=[DEC], frames=STALE, scored=[{"month": DEC, "run_id": "stale"}])
    finally:
        stop.set()
        thread.join()
    assert old != new
    assert len(seen) > 10
    assert set(seen) <= {old, new}, set(seen) - {old, new}
