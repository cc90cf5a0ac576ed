"""The storage layer against real databases: a SQLite file and PostgreSQL (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, select

from scoring import frames as F
from scoring.metrics import METRICS
from scoring.rulebook import OPTION_ALL, load_rulebooks
from storage import engines, migrate
from storage import models as M
from storage import results as R
from storage.results import write as W
from tests.support.old_revisions import read_0005, read_old, write_old
from tests.support.paths import PROJECT_ROOT
from tests.support.synthetic import synthetic_partners, synthetic_results

JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)


def snapshot(engine) -> dict[str, pl.DataFrame]:
    """Everything the results layer stores, as frames (compared exactly)."""
    names = [*R.RESULTS, "partners", "scored_months"]
    return {n: R.read_frame(engine, n) for n in names}


def assert_frames_equal(got: pl.DataFrame, want: pl.DataFrame, what: str = "") -> None:
    assert got.schema == want.schema, what
    assert got.height == want.height, what
    assert got.equals(want), f"{what}: frames differ"


def sorted_frame(name: str, df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(list(R.RESULTS[name].natural_key))


# ---- migrations ------------------------------------------------------------------------------


def test_migrations_apply_from_empty_and_are_idempotent(empty_db_url):
    assert migrate.current(empty_db_url) is None
    assert not migrate.is_current(empty_db_url)
    migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == migrate.head() == "0006"
    migrate.upgrade(empty_db_url)  # again: nothing to do, no error
    assert migrate.is_current(empty_db_url)
    tables = set(sa.inspect(engines.get_engine(empty_db_url)).get_table_names())
    assert {t.name for t in M.metadata.sorted_tables} | {"alembic_version"} == tables


def _upgrade(url: str) -> None:
    migrate.upgrade(url)


def test_concurrent_upgrades_are_serialized(empty_db_url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_upgrade, args=(empty_db_url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert migrate.is_current(empty_db_url)


def test_downgrade_then_upgrade_again(empty_db_url):
    migrate.upgrade(empty_db_url)
    migrate.downgrade(empty_db_url, "base")
    assert migrate.current(empty_db_url) is None
    assert set(sa.inspect(engines.get_engine(empty_db_url)).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_db_url)
    assert migrate.is_current(empty_db_url)


def _diff(url) -> list:
    with engines.get_engine(url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, M.metadata)


def test_models_match_migrations(db_url, empty_db_url):
    assert _diff(db_url) == []
    # the comparison does see differences: against an empty database every table is missing
    missing = {d[1].name for d in _diff(empty_db_url) if d[0] == "add_table"}
    assert missing == {t.name for t in M.metadata.sorted_tables}


def test_upgrade_works_from_any_cwd_without_ini(tmp_path):
    url = f"sqlite:///{tmp_path / 'cwd.sqlite'}"
    code = f"import storage.migrate as m; m.upgrade({url!r}); print(m.current({url!r}))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )  # fmt: skip
    assert out.stdout.strip() == migrate.head()


def test_model_columns_are_the_frame_schemas():
    sa_to_pl = {
        sa.Date: pl.Date, sa.String: pl.String, sa.BigInteger: pl.Int64,
        sa.Double: pl.Float64, sa.Boolean: pl.Boolean, M.DayNumber: pl.Date, M.Code: pl.String,
    }  # fmt: skip
    schemas = {
        "eligible_tenants": F.ELIGIBLE_TENANTS_SCHEMA, "holdings": F.HOLDINGS_SCHEMA,
        "metric_points": F.METRIC_POINTS_SCHEMA, "path_scores": F.PATH_SCORES_SCHEMA,
        "designations": F.DESIGNATIONS_SCHEMA, "customer_details": F.CUSTOMER_DETAILS_SCHEMA,
    }  # fmt: skip
    for name, model in M.RESULT_TABLES.items():
        if name == "holdings":
            continue
        table = model.__table__
        assert list(table.columns.keys()) == list(schemas[name]), name
        for column in table.columns:
            assert sa_to_pl[type(column.type)] == schemas[name][column.name], (name, column.name)
    assert [c.name for c in M.MetricPoint.__table__.primary_key.columns] == [
        "month", "partner_id", "track", "metric", "option"
    ]  # fmt: skip
    # the holdings frame: holding (month, association, usage) on association (the five values)
    holding, association = M.Holding.__table__, M.Association.__table__
    assert [c.name for c in holding.primary_key.columns] == ["month", "association_id"]
    assert [c.name for c in association.primary_key.columns] == ["id"]
    stored = {c.name for c in holding.columns} - {"association_id"} | {c.name for c in association.columns} - {"id"}
    assert stored == set(F.HOLDINGS_SCHEMA)
    assert R.RESULTS["holdings"].frame_schema == F.HOLDINGS_SCHEMA
    assert R.RESULTS["holdings"].natural_key == ("month", "partner_id", "tenant_id", "option", "workload")


def test_the_vocabularies_hold_every_name_scoring_writes_in_byte_order():
    books = load_rulebooks().versions
    assert {t.name for b in books for t in b.tracks} <= set(M.TRACKS)
    assert {OPTION_ALL, *(o for b in books for o in b.options)} <= set(M.OPTIONS)
    assert set(METRICS) <= set(M.METRICS)
    assert [c.name for c in M.Designation.__table__.columns if isinstance(c.type, M.Code)] == ["best_track"]
    for names in (M.TRACKS, M.OPTIONS, M.METRICS):  # codes sort as the names do
        assert list(names) == sorted(names, key=str.encode)
    with pytest.raises(ValueError, match="byte order"):
        M.Code(("SMB", "ENTERPRISE"))
    with pytest.raises(ValueError, match="byte order"):
        M.Code(("CPOR", "CPOR"))


def test_sqlalchemy_queries_bind_and_read_names(engine):
    frames = synthetic_results([JAN], partners=6, tenants=12)
    R.write_results(engine, months=[JAN], frames=frames)
    t = M.MetricPoint.__table__
    q = sa.select(t.c.partner_id, t.c.track, t.c.metric, t.c.option).where(
        t.c.track == "SMB", t.c.option.in_(["ALL", "CSP"])
    )
    with engine.connect() as conn:
        got = conn.execute(q.order_by(t.c.partner_id, t.c.metric.desc(), t.c.option)).all()
        with pytest.raises(sa.exc.StatementError, match="'MID_MARKET' is not one of ENTERPRISE, SMB"):
            conn.execute(sa.select(t).where(t.c.track == "MID_MARKET"))
    want = (
        frames["metric_points"]
        .filter(pl.col("track") == "SMB", pl.col("option").is_in(["ALL", "CSP"]))
        .sort("partner_id", "metric", "option", descending=[False, True, False])
        .select("partner_id", "track", "metric", "option")
    )
    assert got == want.rows() and len(got) > 6


# ---- write / read ----------------------------------------------------------------------------


def test_write_then_read_round_trips_exactly(engine):
    frames = synthetic_results([JAN, FEB], partners=25, tenants=40)
    partners = synthetic_partners(frames)
    materialized = dt.datetime(2024, 3, 20, 6, 0, 5, 123456, tzinfo=dt.UTC)
    counts = R.write_results(
        engine,
        months=[FEB, JAN],
        frames=frames,
        partners=partners,
        scored=[{"month": JAN, "run_id": "run-1", "materialized_at": materialized}],
    )
    assert counts == {
        **{n: df.height for n, df in frames.items()},
        "partners": 25,  # 24 from the registry, 1 seen only in the results
        "scored_months": 2,
        # each association once, whatever the months holding it
        "associations": frames["holdings"].drop("month", "paid_seats", "active_users").unique().height,
    }
    for name, df in frames.items():
        assert_frames_equal(R.read_frame(engine, name), sorted_frame(name, df), name)
        assert_frames_equal(R.read_frame(engine, R.RESULTS[name].table.name), sorted_frame(name, df), name)
    # awkward values made it through exactly (CSV quoting, unicode, int64 extremes, doubles)
    mp_ = R.read_frame(engine, "metric_points")
    assert mp_["current"].max() == 2**63 - 1 and mp_["year_ago"].min() == -(2**63)
    assert 'P,"quoted"' in mp_["partner_id"].to_list() and "P-é-ü" in mp_["partner_id"].to_list()
    assert R.read_frame(engine, "customer_details")["associated_on"].null_count() > 0

    assert R.months_scored(engine) == [JAN, FEB]
    assert R.row_counts(engine) == {
        **{n: df.height for n, df in frames.items()},
        "scored_months": 2,
    }
    assert R.row_counts(engine, months=[FEB])["designations"] == 25

    stored_partners = R.read_frame(engine, "partners")
    assert stored_partners.height == 25
    reg = stored_partners.filter("in_registry")
    assert_frames_equal(reg.drop("in_registry"), partners.sort("partner_id"), "registry")
    unregistered = stored_partners.filter(~pl.col("in_registry"))
    assert unregistered["partner_name"].to_list() == [None]

    scored = R.read_frame(engine, "scored_months")
    des = frames["designations"]
    assert scored.to_dicts()[0] == {
        "month": JAN,
        "rulebook_id": "modern-work-synthetic",
        "partners_scored": des.filter(pl.col("month") == JAN).height,
        "partners_attained": des.filter((pl.col("month") == JAN) & pl.col("attained")).height,
        "materialized_at": materialized,
        "run_id": "run-1",
    }
    assert scored["run_id"].to_list() == ["run-1", None]


def test_special_values_round_trip(engine):
    frames = synthetic_results([JAN], partners=4, tenants=6)
    des = frames["designations"]
    frames["designations"] = des.with_columns(
        score=pl.Series([float("inf"), float("-inf"), -0.0, 5e-324] * (des.height // 4)),
        rulebook_id=pl.lit(""),  # an empty string is not NULL (COPY CSV quotes it)
    )
    frames["eligible_tenants"] = pl.DataFrame(
        {"month": [JAN], "tenant_id": [""], "track": ["SMB"], "max_paid_seats": [0]},
        schema=F.ELIGIBLE_TENANTS_SCHEMA,
    )
    R.write_results(engine, months=[JAN], frames=frames)
    got = R.read_frame(engine, "designations")
    assert got["rulebook_id"].to_list() == [""] * des.height
    assert sorted(set(got["score"].to_list())) == [float("-inf"), 0.0, 5e-324, float("inf")]
    assert str(got["score"].to_list()[got["score"].to_list().index(0.0)]) == "0.0"  # not -0.0
    assert R.read_frame(engine, "eligible_tenants")["tenant_id"].to_list() == [""]


def test_read_frame_filters(engine):
    frames = synthetic_results([JAN, FEB], partners=12, tenants=30)
    R.write_results(engine, months=[JAN, FEB], frames=frames)
    ids = ['P,"quoted"', "P000003", "nobody"]
    got = R.read_frame(engine, "path_scores", months=[FEB], partner_ids=ids)
    want = sorted_frame(
        "path_scores",
        frames["path_scores"].filter((pl.col("month") == FEB) & pl.col("partner_id").is_in(ids)),
    )
    assert got.height == 4
    assert_frames_equal(got, want)
    assert R.read_frame(engine, "designations", partner_ids=[]).height == 0
    assert R.read_frame(engine, "designations", months=[MAR]).schema == pl.Schema(F.DESIGNATIONS_SCHEMA)
    with pytest.raises(ValueError, match="no partner_id"):
        R.read_frame(engine, "eligible_tenants", partner_ids=["P1"])
    with pytest.raises(ValueError, match="unknown table"):
        R.read_frame(engine, "nope")


def test_rewriting_a_month_replaces_it_and_leaves_other_months_alone(engine):
    old = synthetic_results([JAN, FEB, MAR], partners=20, tenants=40)
    R.write_results(engine, months=[JAN, FEB, MAR], frames=old, partners=synthetic_partners(old))
    before = snapshot(engine)

    # FEB again, scored differently: fewer partners, other tenants and values
    new = synthetic_results([FEB], partners=15, tenants=30, seed=7, rulebook_id="rb-2")
    counts = R.write_results(engine, months=[FEB], frames=new, scored=[{"month": FEB}])
    assert counts["designations"] == 15
    after = snapshot(engine)

    for name in R.RESULTS:
        got = after[name]
        assert got.filter(pl.col("month") == FEB).equals(sorted_frame(name, new[name])), name
        for m in (JAN, MAR):  # untouched
            assert got.filter(pl.col("month") == m).equals(before[name].filter(pl.col("month") == m)), (name, m)
        key = list(R.RESULTS[name].natural_key)
        assert got.select(key).is_duplicated().sum() == 0, name
    scored = after["scored_months"]
    assert scored["month"].to_list() == [JAN, FEB, MAR]
    assert scored.filter(pl.col("month") == FEB)["rulebook_id"].item() == "rb-2"
    assert scored.filter(pl.col("month") == FEB)["partners_scored"].item() == 15
    assert scored.filter(pl.col("month") != FEB).equals(before["scored_months"].filter(pl.col("month") != FEB))
    # partners only ever get added or updated, never removed
    assert after["partners"].equals(before["partners"])

    # the same write again is a no-op on the data (idempotent)
    R.write_results(engine, months=[FEB], frames=new, scored=[{"month": FEB}])
    again = snapshot(engine)
    for name in R.RESULTS:
        assert again[name].equals(after[name]), name

    # empty frames clear a month, and it is no longer a scored month
    R.write_results(engine, months=[MAR], frames=R.empty_frames())
    assert R.months_scored(engine) == [JAN, FEB]
    assert R.row_counts(engine, months=[MAR]) == dict.fromkeys([*R.RESULTS, "scored_months"], 0)


def test_partner_upsert_updates_names_and_registry_flags(engine):
    frames = synthetic_results([JAN], partners=5, tenants=10)
    ids = sorted(frames["designations"]["partner_id"].to_list())
    R.write_results(engine, months=[JAN], frames=frames)  # no registry: all unregistered
    assert R.read_frame(engine, "partners")["in_registry"].to_list() == [False] * 5
    registry = pl.DataFrame({"partner_id": ids[:2], "partner_name": ["A", None]})
    R.write_results(engine, months=[JAN], frames=frames, partners=registry)
    got = R.read_frame(engine, "partners")
    assert got.head(2).to_dicts() == [
        {"partner_id": ids[0], "partner_name": "A", "in_registry": True},
        {"partner_id": ids[1], "partner_name": None, "in_registry": True},
    ]
    assert got["in_registry"].to_list()[2:] == [False] * 3
    renamed = pl.DataFrame({"partner_id": [ids[0]], "partner_name": ["A2"], "in_registry": [False]})
    R.write_results(engine, months=[JAN], frames=frames, partners=renamed)
    assert R.read_frame(engine, "partners").row(0) == (ids[0], "A2", False)


# ---- atomicity -------------------------------------------------------------------------------


@pytest.fixture
def written(engine):
    """Two months written; returns the stored state to compare against."""
    frames = synthetic_results([JAN, FEB], partners=15, tenants=30)
    R.write_results(engine, months=[JAN, FEB], frames=frames, partners=synthetic_partners(frames))
    return snapshot(engine)


def _assert_unchanged(engine, before):
    after = snapshot(engine)
    for name, df in before.items():
        assert_frames_equal(after[name], df, name)


def test_null_in_not_null_column_is_refused_and_nothing_changes(engine, written):
    new = synthetic_results([FEB], partners=10, tenants=20, seed=3)
    new["metric_points"] = new["metric_points"].with_columns(
        points=pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise("points")
    )
    with pytest.raises(ValueError, match=r"metric_points: nulls in NOT NULL columns \{'points': 1\}"):
        R.write_results(engine, months=[FEB], frames=new)
    _assert_unchanged(engine, written)


@pytest.mark.parametrize(
    ("frame", "column", "value"),
    [
        ("metric_points", "metric", "NEW_METRIC"),
        ("metric_points", "option", "cpor"),  # names are exact: not folded
        ("customer_details", "track", "SMB "),
        ("eligible_tenants", "track", "MID_MARKET"),
        ("path_scores", "track", "ALL"),  # an option, not a track
        ("designations", "best_track", ""),
        ("holdings", "option", "CSP_T1"),  # the association type, not its option
    ],
)
def test_a_name_outside_its_vocabulary_is_refused_and_nothing_changes(engine, written, frame, column, value):
    new = synthetic_results([FEB], partners=10, tenants=20, seed=3)
    new[frame] = new[frame].with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(value)).otherwise(column).alias(column)
    )
    with pytest.raises(ValueError, match=rf"{frame}: column '{column}' holds \[{value!r}\]: not one of "):
        R.write_results(engine, months=[FEB], frames=new, partners=synthetic_partners(new))
    _assert_unchanged(engine, written)


def test_database_error_mid_write_rolls_everything_back(engine, written):
    # customer_details is written last; a duplicate key there fails after the deletes and
    # after every other table's rows went in
    new = synthetic_results([FEB], partners=10, tenants=20, seed=3)
    cd = new["customer_details"]
    new["customer_details"] = pl.concat([cd, cd.head(1)])
    with pytest.raises(sa.exc.IntegrityError):
        R.write_results(engine, months=[FEB], frames=new, partners=synthetic_partners(new))
    _assert_unchanged(engine, written)


@pytest.mark.parametrize("fail_in", ["_bulk_insert", "_upsert_partners"])
def test_failure_after_the_delete_rolls_everything_back(engine, written, monkeypatch, fail_in):
    calls = []
    real = getattr(W, fail_in)
    new = synthetic_results([FEB], partners=10, tenants=20, seed=4)
    jan = written["designations"].filter(pl.col("month") == JAN).height
    feb = written["designations"].filter(pl.col("month") == FEB).height

    def failing(conn, *args, **kw):
        calls.append(1)
        if len(calls) == 3 or fail_in == "_upsert_partners":
            n = conn.execute(sa.select(sa.func.count()).select_from(M.Designation)).scalar()
            if conn.dialect.name == "sqlite":
                # inside the transaction, FEB's old rows are gone (and, by the time partners
                # are upserted, its new designations are in)
                assert n == jan + (10 if fail_in == "_upsert_partners" else 0)
            else:
                # PostgreSQL: FEB's new rows are loaded into tables of their own (two of them
                # by the third load, all six by the upsert), swapped in only at the end
                assert n == jan + feb
                staged = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_tables WHERE schemaname = 'pcs_partitions' "
                        "AND tablename ~ '_2024_02_x[0-9]+$'"
                    )
                ).scalar()
                assert staged == (6 if fail_in == "_upsert_partners" else 2)
            raise RuntimeError("boom")
        return real(conn, *args, **kw)

    monkeypatch.setattr(W, fail_in, failing)  # write_results' own steps
    with pytest.raises(RuntimeError, match="boom"):
        R.write_results(
            engine,
            months=[FEB],
            frames=new,
            partners=pl.DataFrame({"partner_id": ["P000001"], "partner_name": ["changed"]}),
        )
    _assert_unchanged(engine, written)


def test_validation_errors(engine):
    frames = synthetic_results([JAN], partners=4, tenants=8)
    with pytest.raises(ValueError, match="first day"):
        R.write_results(engine, months=[dt.date(2024, 1, 2)], frames=frames)
    with pytest.raises(ValueError, match="months not being written"):
        R.write_results(engine, months=[FEB], frames=frames)
    with pytest.raises(ValueError, match="missing"):
        R.write_results(engine, months=[JAN], frames={"designations": frames["designations"]})
    with pytest.raises(ValueError, match="unexpected"):
        R.write_results(
            engine,
            months=[JAN],
            frames={**frames, "holdings": frames["holdings"].with_columns(x=pl.lit(1))},
        )
    with pytest.raises(ValueError, match="partners_scored"):
        R.write_results(engine, months=[JAN], frames=frames, scored=[{"month": JAN, "partners_scored": 1}])
    with pytest.raises(ValueError, match="rulebook_id='other'"):
        R.write_results(engine, months=[JAN], frames=frames, scored=[{"month": JAN, "rulebook_id": "other"}])
    with pytest.raises(ValueError, match="timezone-aware"):
        naive = dt.datetime(2024, 2, 1, 6, 0)
        R.write_results(engine, months=[JAN], frames=frames, scored=[{"month": JAN, "materialized_at": naive}])
    with pytest.raises(ValueError, match=r"designations: NaN in \{'score': 4\}"):
        nan = frames["designations"].with_columns(score=pl.lit(float("nan")))
        R.write_results(engine, months=[JAN], frames={**frames, "designations": nan})
    with pytest.raises(ValueError, match="duplicate partner_id"):
        R.write_results(
            engine,
            months=[JAN],
            frames=frames,
            partners=pl.DataFrame({"partner_id": ["a", "a"], "partner_name": ["x", "y"]}),
        )
    assert R.row_counts(engine) == dict.fromkeys([*R.RESULTS, "scored_months"], 0)


# ---- PostgreSQL month partitions, concurrent readers -----------------------------------------


def _partitions(engine) -> dict[str, list[str]]:
    """parent table -> its partitions (qualified names), sorted."""
    with engine.connect() as c:
        rows = c.exec_driver_sql(
            "SELECT p.relname, c.oid::regclass::text FROM pg_inherits i "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE p.relkind = 'p' ORDER BY 1, 2"
        ).all()
    out: dict[str, list[str]] = {}
    for parent, child in rows:
        out.setdefault(parent, []).append(child)
    return out


def _partition_schema_tables(engine) -> list[str]:
    with engine.connect() as c:
        return sorted(
            c.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'pcs_partitions'").scalars()
        )


@pytest.mark.parametrize("db_backend", ["postgresql"])  # partitions are PostgreSQL's
def test_postgresql_months_are_partitions_swapped_whole(engine):
    frames = synthetic_results([JAN, FEB, MAR], partners=12, tenants=30)
    R.write_results(engine, months=[JAN, FEB, MAR], frames=frames)
    tables = [s.table.name for s in R.RESULTS.values()]
    with engine.connect() as c:
        partitioned = set(c.exec_driver_sql(
            "SELECT partrelid::regclass::text FROM pg_partitioned_table"
        ).scalars())  # fmt: skip
    assert partitioned == set(tables)
    want = {t: [f"pcs_partitions.{t}_2024_{m:02d}" for m in (1, 2, 3)] for t in tables}
    assert _partitions(engine) == want
    oids = lambda: {  # noqa: E731
        t: sa.inspect(engine).get_table_oid(f"{t}_2024_02", schema="pcs_partitions")
        for t in tables
    }  # fmt: skip
    before = oids()

    # a rewrite swaps in new tables (no staging table is left behind) ...
    new = synthetic_results([FEB], partners=9, tenants=20, seed=5)
    R.write_results(engine, months=[FEB], frames=new)
    engines.dispose_engines()  # the inspector caches nothing across engines' connections
    assert _partitions(engine) == want
    after = oids()
    assert all(after[t] != before[t] for t in tables)
    assert _partition_schema_tables(engine) == sorted(n.split(".")[1] for v in want.values() for n in v)
    for name, df in new.items():
        assert R.read_frame(engine, name, months=[FEB]).equals(sorted_frame(name, df)), name
    # ... every partition has the parent's primary key and indexes, attached to them
    with engine.connect() as c:
        unattached = c.exec_driver_sql(
            "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_namespace n ON n.oid = i.relnamespace "
            "WHERE n.nspname = 'pcs_partitions' AND NOT i.relispartition"
        ).scalar()
        per_partition = dict(c.exec_driver_sql(
            "SELECT t.relname, count(*) FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'pcs_partitions' "
            "GROUP BY 1"
        ).all())  # fmt: skip
    assert unattached == 0
    for spec in R.RESULTS.values():
        for m in (1, 2, 3):
            assert per_partition[f"{spec.table.name}_2024_{m:02d}"] == 1 + len(spec.table.indexes)

    # a month cleared has no partitions left; a table without rows that month has none either
    R.write_results(engine, months=[MAR], frames=R.empty_frames())
    assert _partitions(engine) == {t: v[:2] for t, v in want.items()}
    only_designations = R.empty_frames() | {"designations": new["designations"].with_columns(
        month=pl.lit(MAR))}  # fmt: skip
    R.write_results(engine, months=[MAR], frames=only_designations)
    got = _partitions(engine)
    assert got["designation"] == want["designation"]
    assert got["metric_point"] == want["metric_point"][:2]


def test_migration_0002_moves_existing_rows_into_partitions_and_back(empty_db_url):
    migrate.upgrade(empty_db_url, "0001")
    engine = engines.get_engine(empty_db_url)
    frames = synthetic_results([JAN, FEB], partners=10, tenants=25)
    write_old(engine, frames)
    before = {**read_old(engine), "partners": R.read_frame(engine, "partners")}
    assert before["holdings"].equals(sorted_frame("holdings", R._prepare_frame(R.RESULTS["holdings"],
                                                                 frames["holdings"], {JAN, FEB})))  # fmt: skip
    postgresql = engine.dialect.name == "postgresql"

    migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == migrate.head()
    assert _diff(empty_db_url) == []
    after = snapshot(engine)
    for name, df in before.items():
        assert_frames_equal(after[name], df, name)
    assert after["scored_months"]["month"].to_list() == [JAN, FEB]
    if postgresql:
        assert {t: len(v) for t, v in _partitions(engine).items()} == {s.table.name: 2 for s in R.RESULTS.values()}
    # writes work on the migrated database, and the downgrade keeps what is there
    new = synthetic_results([FEB], partners=7, tenants=15, seed=9)
    R.write_results(engine, months=[FEB], frames=new)
    written = snapshot(engine)
    migrate.downgrade(empty_db_url, "0001")
    assert migrate.current(empty_db_url) == "0001"
    if postgresql:
        assert _partitions(engine) == {}
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'pcs_partitions'").scalar() == 0
    for name, df in read_old(engine).items():
        assert_frames_equal(df, written[name], name)
    # and up again: the same rows, and today's writes work
    migrate.upgrade(empty_db_url)
    for name, df in snapshot(engine).items():
        assert_frames_equal(df, written[name], name)
    R.write_results(engine, months=[JAN], frames=R.empty_frames())
    assert R.row_counts(engine)["designations"] == 7


CODED = {  # table -> its columns stored as codes since 0006
    "eligible_tenant": ("track",),
    "metric_point": ("track", "metric", "option"),
    "path_score": ("track",),
    "designation": ("best_track",),
    "customer_detail": ("track", "option"),
    "association": ("option",),
}


def _stored_types(engine) -> set[str]:
    """The types the coded columns' values are stored as, in every table (and partition)."""
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            return {
                t
                for table, cols in CODED.items()
                for col in cols
                for t in c.exec_driver_sql(f"SELECT DISTINCT typeof({col}) FROM {table}").scalars()
            }
        sql = (
            "SELECT DISTINCT data_type FROM information_schema.columns WHERE column_name = %s "
            "AND (table_name = %s OR (table_schema = 'pcs_partitions' AND table_name LIKE %s))"
        )
        return {
            t
            for table, cols in CODED.items()
            for col in cols
            for t in c.exec_driver_sql(sql, (col, table, table + "\\_2%")).scalars()
        }


def _ordered_by_names(engine, *, raw: bool) -> dict[str, list[tuple]]:
    """Each coded table's rows ordered by its coded columns, then its key: with SQL on the text
    (``raw``, before 0006) or with SQLAlchemy on the models (the codes, read back as names)."""
    out = {}
    with engine.connect() as c:
        for name, cols in CODED.items():
            table = M.metadata.tables[name]
            key = [k.name for k in table.primary_key.columns if k.name not in cols]
            order = [*cols, *key]
            shown = [k for k in order if not isinstance(table.c[k].type, M.DayNumber)]  # as stored
            if raw:
                sql = f"SELECT {', '.join(shown)} FROM {name} ORDER BY {', '.join(order)}"
                out[name] = [tuple(r) for r in c.exec_driver_sql(sql)]
            else:
                q = sa.select(*(table.c[k] for k in shown)).order_by(*(table.c[k] for k in order))
                out[name] = [tuple(r) for r in c.execute(q)]
    return out


def test_migration_0006_stores_names_as_codes_with_the_data_and_back(empty_db_url):
    migrate.upgrade(empty_db_url, "0001")
    engine = engines.get_engine(empty_db_url)
    frames = synthetic_results([JAN, FEB], partners=10, tenants=25)
    write_old(engine, frames)
    migrate.upgrade(empty_db_url, "0005")
    want = {n: sorted_frame(n, R._prepare_frame(spec, frames[n], {JAN, FEB})) for n, spec in R.RESULTS.items()}
    at_0005 = read_0005(engine)
    for name, df in want.items():
        assert_frames_equal(at_0005[name], df, name)
    text = {"sqlite": {"text"}, "postgresql": {"character varying"}}[engine.dialect.name]
    assert _stored_types(engine) == text
    ordered = _ordered_by_names(engine, raw=True)
    # every name of every vocabulary is there to be ordered
    tracks, metrics, options = (set(c) for c in list(zip(*ordered["metric_point"], strict=True))[:3])
    assert (tracks, metrics, options) == (set(M.TRACKS), set(M.METRICS), set(M.OPTIONS))

    migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == "0006"
    assert _diff(empty_db_url) == []
    assert _stored_types(engine) == {"sqlite": {"integer"}, "postgresql": {"smallint"}}[engine.dialect.name]
    after = snapshot(engine)
    for name, df in want.items():
        assert_frames_equal(after[name], df, name)
    # ORDER BY a code column gives the rows in the order ORDER BY its names gave
    assert _ordered_by_names(engine, raw=False) == ordered
    # today's writes work on the migrated database; the downgrade keeps what is there
    new = synthetic_results([FEB], partners=7, tenants=15, seed=9)
    R.write_results(engine, months=[FEB], frames=new)
    written = snapshot(engine)
    assert_frames_equal(
        written["metric_points"].filter(pl.col("month") == FEB), sorted_frame("metric_points", new["metric_points"])
    )

    migrate.downgrade(empty_db_url, "0005")
    assert migrate.current(empty_db_url) == "0005"
    assert _stored_types(engine) == text
    for name, df in read_0005(engine).items():
        assert_frames_equal(df, written[name], name)
    migrate.upgrade(empty_db_url)
    for name, df in snapshot(engine).items():
        assert_frames_equal(df, written[name], name)


def test_migration_0006_refuses_names_outside_the_vocabularies(empty_db_url):
    migrate.upgrade(empty_db_url, "0001")
    engine = engines.get_engine(empty_db_url)
    frames = synthetic_results([JAN], partners=4, tenants=8)
    frames["path_scores"] = frames["path_scores"].with_columns(
        track=pl.when(pl.col("track") == "SMB").then(pl.lit("MID_MARKET")).otherwise("track")
    )
    write_old(engine, frames)
    migrate.upgrade(empty_db_url, "0005")
    with pytest.raises(RuntimeError, match=r"path_score.track holds \['MID_MARKET'\], not in the vocabulary"):
        migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == "0005"  # nothing changed
    assert _stored_types(engine) == {"sqlite": {"text"}, "postgresql": {"character varying"}}[engine.dialect.name]


def _month_state(conn, month: dt.date) -> tuple:
    """(partners_scored, rows of each result table) of ``month``, one statement per table."""
    m = month if conn.dialect.name == "postgresql" else month.toordinal() - M.EPOCH_ORDINAL  # DayNumber
    scored = conn.execute(sa.text("SELECT partners_scored FROM scored_month WHERE month = :m"), {"m": m}).scalar()
    counts = []
    for spec in R.RESULTS.values():
        counts.append(conn.execute(
            sa.text(f"SELECT count(*) FROM {spec.table.name} WHERE month = :m"), {"m": m}
        ).scalar())  # fmt: skip
        time.sleep(random.random() * 0.01)  # hold this table while the writer wants them all
    return (scored, *counts)


def _states(frames) -> tuple:
    return (frames["designations"].height, *(frames[n].height for n in R.RESULTS))


def test_readers_see_a_month_wholly_before_or_after_each_rewrite(engine):
    """Readers in snapshot transactions (the API's: REPEATABLE READ on PostgreSQL, a deferred
    BEGIN on SQLite) that read scored_month and then the result tables one statement at a time,
    with pauses, while a writer rewrites the month again and again: each reader sees the six
    result tables of one whole version of the month, and neither side fails (no deadlock
    between a reader holding one table and the writer wanting them all).

    PostgreSQL swaps partitions, which is not MVCC-safe for a snapshot taken *before* the swap
    commits that first reads the tables *after* it: a REPEATABLE READ reader whose first
    statement waited for the swap sees the new results (their rows are frozen) but the old
    scored_month row. A reader that starts with ``LOCK TABLE scored_month IN ACCESS SHARE
    MODE`` (no snapshot is taken for it) sees everything of one version, scored_month included.
    """
    a = synthetic_results([FEB], partners=40, tenants=80, seed=1)
    b = synthetic_results([FEB], partners=25, tenants=50, seed=2)
    versions = {_states(a), _states(b)}
    assert len(versions) == 2
    R.write_results(engine, months=[FEB], frames=a)
    postgresql = engine.dialect.name == "postgresql"
    stop = threading.Event()
    seen: dict[bool, list[tuple]] = {False: [], True: []}  # lock first? -> states read
    errors: list[BaseException] = []

    def reader(lock_first: bool):
        try:
            while not stop.is_set():
                conn = engine.connect()
                if postgresql:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                                  postgresql_readonly=True)  # fmt: skip
                else:
                    conn = conn.execution_options(**engines.READ_ONLY)
                with conn, conn.begin():
                    if lock_first and postgresql:
                        conn.exec_driver_sql("LOCK TABLE scored_month IN ACCESS SHARE MODE")
                    seen[lock_first].append(_month_state(conn, FEB))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(k,)) for k in (False, False, True, True)]
    for t in threads:
        t.start()
    try:
        for frames in (b, a, b, a, b, a):
            R.write_results(engine, months=[FEB], frames=frames)
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    assert seen[False] and seen[True]
    assert {s[1:] for s in seen[False]} <= {v[1:] for v in versions}
    assert set(seen[True]) <= versions
    if not postgresql:
        assert set(seen[False]) <= versions
    with engine.connect() as conn:
        assert _month_state(conn, FEB) == _states(a)


@pytest.mark.parametrize("db_backend", ["postgresql"])  # SQLite's WAL readers never block it
def test_a_reader_holding_a_table_delays_the_swap_and_sees_the_old_month(engine):
    a = synthetic_results([FEB], partners=30, tenants=60, seed=1)
    b = synthetic_results([FEB], partners=20, tenants=40, seed=2)
    R.write_results(engine, months=[FEB], frames=a)
    done = threading.Event()
    writer_error: list[BaseException] = []

    def write_b():
        try:
            R.write_results(engine, months=[FEB], frames=b)
        except BaseException as exc:
            writer_error.append(exc)
        finally:
            done.set()

    conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with conn, conn.begin():
        q = lambda t: conn.exec_driver_sql(  # noqa: E731
            f"SELECT count(*) FROM {t} WHERE month = '2024-02-01'"
        ).scalar()
        assert q("designation") == 30  # holds designation from here on
        writer = threading.Thread(target=write_b)
        writer.start()
        # longer than deadlock_timeout (1 s): had the writer kept the tables it had locked
        # while waiting for this one, the next statement would be a deadlock
        assert not done.wait(2.5)
        assert q("metric_point") == a["metric_points"].height
        assert q("customer_detail") == a["customer_details"].height
    assert done.wait(60)
    writer.join()
    assert not writer_error, writer_error
    assert R.row_counts(engine, months=[FEB])["designations"] == 20


# ---- API tokens (the ORM side) ---------------------------------------------------------------


def test_api_token_rows(engine):
    created = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with Session(engine) as s:
        s.add(M.ApiToken(token_hash="a" * 64, partner_id="P1", label="ci", created_at=created))
        s.add(M.ApiToken(token_hash="b" * 64, partner_id="P2"))
        s.commit()
    with Session(engine) as s:
        tokens = s.exec(select(M.ApiToken).order_by(M.ApiToken.id)).all()
        assert [t.partner_id for t in tokens] == ["P1", "P2"]
        assert tokens[0].created_at == created and tokens[0].created_at.tzinfo == dt.UTC
        assert tokens[1].revoked_at is None and tokens[1].created_at.tzinfo == dt.UTC
    with pytest.raises(sa.exc.IntegrityError), Session(engine) as s:
        s.add(M.ApiToken(token_hash="a" * 64, partner_id="P3"))
        s.commit()


# ---- SQLite specifics ------------------------------------------------------------------------


def _sqlite_url(tmp_path, name="pcs.sqlite") -> str:
    url = f"sqlite:///{tmp_path / name}"
    migrate.upgrade(url)
    return url


def test_sqlite_file_is_in_wal_mode_and_writes_begin_immediate(tmp_path):
    url = _sqlite_url(tmp_path)
    path = tmp_path / "pcs.sqlite"
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    engine = engines.get_engine(url)
    with engine.connect() as c:
        pragmas = {
            p: c.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
        }
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30000, "synchronous": 1,
                       "foreign_keys": 1}  # fmt: skip

    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        # the engine's transaction takes the write lock at BEGIN, before any statement
        with engine.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
        with engine.connect().execution_options(**engines.READ_ONLY) as c:
            c.exec_driver_sql("SELECT count(*) FROM partner").scalar()  # deferred: no lock
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with Session(engines.get_read_engine(url)) as s:  # the same through the ORM
            assert s.exec(select(M.Partner)).all() == []
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with Session(engine) as s:  # a default session does take the lock
            s.exec(select(M.Partner)).all()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        engines.dispose_engines(url)


def _writer(url: str, month: dt.date, rounds: int, seed: int) -> None:
    engine = engines.get_engine(url)
    frames = synthetic_results([month], partners=300, tenants=400, tenants_per_partner=20,
                               seed=seed)  # fmt: skip
    for _ in range(rounds):
        R.write_results(engine, months=[month], frames=frames, partners=synthetic_partners(frames))
        R.read_frame(engine, "designations", months=[month])


def test_two_writer_processes_on_sqlite_both_succeed(tmp_path):
    url = _sqlite_url(tmp_path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, m, 4, i)) for i, m in enumerate((JAN, FEB))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]  # a "database is locked" would exit 1
    engine = engines.get_engine(url)
    assert R.months_scored(engine) == [JAN, FEB]
    for i, m in enumerate((JAN, FEB)):
        want = synthetic_results([m], partners=300, tenants=400, tenants_per_partner=20, seed=i)
        for name, df in want.items():
            assert R.read_frame(engine, name, months=[m]).equals(sorted_frame(name, df)), name
    engines.dispose_engines(url)


def _child_engine(url, inherited_id, queue):
    engine = engines.get_engine(url)
    with engine.connect() as c:
        c.exec_driver_sql("SELECT 1")
    queue.put((id(engine) != inherited_id, engine is engines.get_engine(url)))


@pytest.mark.skipif(sys.platform != "linux", reason="fork")
def test_forked_process_gets_its_own_engine(tmp_path):
    url = _sqlite_url(tmp_path)
    parent = engines.get_engine(url)
    assert engines.get_engine(url) is parent  # cached per URL...
    with parent.connect() as c:
        c.exec_driver_sql("SELECT 1")  # the parent's pool holds a connection
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_child_engine, args=(url, id(parent), queue))
    p.start()
    result = queue.get(timeout=60)
    p.join(timeout=60)
    assert p.exitcode == 0
    assert result == (True, True)  # ...and per process
    engines.dispose_engines(url)


# ---- settings and boundaries -----------------------------------------------------------------


def test_database_url_from_env(monkeypatch):
    monkeypatch.setenv("PCS_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert engines.database_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("PCS_DATABASE_URL")
    assert engines.database_url() == f"sqlite:///{PROJECT_ROOT / 'var' / 'pcs.sqlite'}"
    assert (PROJECT_ROOT / "var").is_dir()


def test_engines_are_lazy_and_storage_imports_no_dagster_or_web():
    code = textwrap.dedent(
        """
        import sys
        import storage, storage.engines, storage.models, storage.results, storage.migrate
        bad = sorted(m for m in sys.modules
                     if m.split(".")[0] in {"dagster", "strawberry", "starlette", "uvicorn"})
        assert not bad, bad
        assert not storage.engines._engines, "an engine was made at import"
        """
    )
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True)


# ---- associations (holdings stored on them) ---------------------------------------------------


def test_association_ids_are_stable_hashes_of_the_five_values():
    from storage.results.associations import association_ids

    keys = pl.DataFrame(
        {"partner_id": ["P1", "P1"], "tenant_id": ["T1", "T1"], "option": ["CPOR", "CPOR"],
         "workload": ["Teams", "Teams"], "associated_on": [dt.date(2024, 1, 5), dt.date(2024, 1, 6)]}
    )  # fmt: skip
    ids = association_ids(keys).to_list()
    # the first 8 bytes of BLAKE2b over the values joined by U+001F: frozen, stored ids depend on it
    import hashlib

    want = int.from_bytes(
        hashlib.blake2b(b"P1\x1fT1\x1fCPOR\x1fTeams\x1f2024-01-05", digest_size=8).digest(),
        "little",
        signed=True,
    )
    assert ids[0] == want and ids[1] != ids[0]


def test_an_association_id_collision_is_refused_and_nothing_is_written(engine, monkeypatch):
    from storage.results import associations as A

    frames = synthetic_results([JAN], partners=3, tenants=6)
    monkeypatch.setattr(A, "association_ids", lambda keys: pl.Series("id", [7] * keys.height, dtype=pl.Int64))
    with pytest.raises(ValueError, match="hash collision"):
        R.write_results(engine, months=[JAN], frames=frames)
    assert R.row_counts(engine)["holdings"] == 0 and R.read_frame(engine, "associations").height == 0


def test_a_database_made_again_at_the_same_url_is_not_mistaken_for_the_cached_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    migrate.upgrade(url)
    first = synthetic_results([JAN], partners=6, tenants=12, seed=1)
    R.write_results(engine := engines.get_engine(url), months=[JAN], frames=first)
    engines.dispose_engines(url)
    (tmp_path / "again.sqlite").unlink()
    migrate.upgrade(url)  # a new, empty database at the same address; the process still caches the first
    engine = engines.get_engine(url)
    # the same associations again: a stale cache would insert none of them, and lose the holdings
    R.write_results(engine, months=[JAN], frames=first)
    assert R.read_frame(engine, "holdings").equals(sorted_frame("holdings", first["holdings"]))
    engines.dispose_engines(url)
