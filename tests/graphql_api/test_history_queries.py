"""The API's reads of ``metric_point`` and ``path_score``, which have no secondary (partner_id,
month) index since migration 0004: the same rows in the same order as a plain filter of the
table, and (SQLite, EXPLAIN QUERY PLAN) every statement searches the primary key (month,
partner_id, ...) instead of scanning. Both backends (``engine`` fixture)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, event

from graphql_api.db import queries as db
from scoring.calendar import add_months, month_range
from storage.results import write_results
from tests.support.synthetic import synthetic_partners, synthetic_results

D = dt.date
# 2023-01..2023-06 and 2023-09..2024-06: a gap of two months inside the stored range
MONTHS = month_range(D(2023, 1, 1), D(2023, 6, 1)) + month_range(D(2023, 9, 1), D(2024, 6, 1))
HISTORY_INDEXES = ("ix_metric_point_partner_id_month", "ix_path_score_partner_id_month")
TABLES = {"metric_point": db.METRIC, "path_score": db.PATH}
RANGES = [
    (None, None),
    (D(2023, 3, 1), None),
    (None, D(2023, 4, 1)),
    (D(2023, 5, 1), D(2023, 10, 1)),  # across the gap
    (D(2023, 2, 15), D(2023, 10, 20)),  # mid-month bounds
    (D(2023, 7, 1), D(2023, 8, 1)),  # only the gap
    (D(2020, 1, 1), D(2030, 12, 1)),  # far beyond the stored months
    (D(2024, 7, 1), None),
    (None, D(2022, 12, 1)),
    (D(2024, 6, 1), D(2024, 6, 1)),
]


@pytest.fixture
def conn(engine) -> Iterator[Connection]:
    """A connection to results of 8 partners over MONTHS (migrated: no history indexes)."""
    frames = synthetic_results(MONTHS, partners=8, tenants=20, tenants_per_partner=3, seed=3)
    write_results(engine, months=MONTHS, frames=frames, partners=synthetic_partners(frames))
    with engine.connect() as c:
        tx = c.begin()
        left = {i["name"] for t in TABLES for i in sa.inspect(c).get_indexes(t)}
        assert not left & set(HISTORY_INDEXES), left
        yield c
        tx.rollback()


def _all_rows(conn: Connection, table: sa.Table) -> list[tuple]:
    """Every row, in primary-key order (month, partner_id, ...)."""
    return [tuple(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]


def _in_range(month: dt.date, lo: dt.date | None, hi: dt.date | None) -> bool:
    return (lo is None or month >= lo) and (hi is None or month <= hi)


def _partners(conn: Connection) -> list[str]:
    return conn.execute(sa.select(db.PATH.c.partner_id).distinct().order_by(db.PATH.c.partner_id)).scalars().all()


def test_the_range_reads_equal_a_filter_of_the_table(conn):
    pid = db.PATH.c.keys().index("partner_id")
    ids = _partners(conn)
    assert len(ids) == 8
    paths = _all_rows(conn, db.PATH)
    metric_cols = list(db.METRIC.c.keys())
    winners = [r for r in _all_rows(conn, db.METRIC) if r[metric_cols.index("is_winner")]]
    wanted_cols = ["partner_id", "month", "track", "metric", "value", "points"]
    for some in (ids[:1], ids[2:5], ids):
        for lo, hi in RANGES:
            # the order of the (partner_id, month) index: partner, month, then the primary key's rest
            want_paths = sorted(
                (r for r in paths if r[pid] in some and _in_range(r[0], lo, hi)), key=lambda r: (r[1], r[0], r[2])
            )
            got = [tuple(r) for r in db.paths_in_ranges(conn, some, lo, hi)]
            assert got == want_paths, (some, lo, hi)
            want_winners = sorted(
                (
                    (r[1], r[0], r[2], r[3], r[metric_cols.index("value")], r[metric_cols.index("points")])
                    for r in winners
                    if r[1] in some and _in_range(r[0], lo, hi)
                ),
                key=lambda w: (w[0], w[1], w[2], w[3]),
            )
            got_w = db.winners_in_ranges(conn, some, lo, hi)
            assert [tuple(r) for r in got_w] == want_winners, (some, lo, hi)
            assert all(list(r._fields) == wanted_cols for r in got_w)
    assert db.paths_in_ranges(conn, ["no such partner"], None, None) == []


def test_the_keyed_reads_equal_a_filter_of_the_table(conn):
    ids = _partners(conn)
    shapes = [
        [(ids[0], MONTHS[3])],  # one partner, one month
        [(p, MONTHS[3]) for p in ids[:5]],  # one month
        [(ids[1], m) for m in MONTHS],  # one partner
        [(p, m) for p in ids[:4] for m in MONTHS[-6:]],  # a page of histories
        [(ids[0], MONTHS[0]), (ids[3], MONTHS[5]), (ids[3], MONTHS[9]), (ids[7], MONTHS[9])],  # scattered
        [(ids[0], D(2023, 7, 1)), (ids[1], MONTHS[0])],  # a month with no rows
    ]
    for table, read in ((db.PATH, db.paths_by_key), (db.METRIC, db.metrics_by_key)):
        every = _all_rows(conn, table)
        for keys in shapes:
            want = sorted(r for r in every if (r[1], r[0]) in set(keys))  # primary-key order
            assert [tuple(r) for r in read(conn, keys)] == want, (table.name, keys)
    customers, metrics = db.customers_and_metrics(conn, ids[2], MONTHS[4])
    assert [tuple(r) for r in metrics] == sorted(
        r for r in _all_rows(conn, db.METRIC) if r[1] == ids[2] and r[0] == MONTHS[4]
    )
    assert customers


class _Statements:
    """The statements a connection runs (with their parameters) while recording."""

    def __init__(self, conn: Connection) -> None:
        self.seen: list[tuple[str, object]] = []
        self._conn = conn

    def __enter__(self) -> _Statements:
        event.listen(self._conn, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self._conn, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append((statement, parameters))


def _plans(conn: Connection, statements: list[tuple[str, object]]) -> list[tuple[str, list[str]]]:
    return [
        (sql, [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()])
        for sql, params in statements
    ]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # EXPLAIN QUERY PLAN is SQLite's
def test_sqlite_searches_the_primary_key_without_the_history_indexes(conn):
    ids = _partners(conn)
    reads = [
        (db.paths_in_ranges, (ids[:1], None, None)),
        (db.paths_in_ranges, (ids, D(2023, 5, 1), D(2024, 2, 1))),
        (db.winners_in_ranges, (ids[:1], add_months(MONTHS[-1], -12), None)),
        (db.winners_in_ranges, (ids[:3], None, None)),
        (db.paths_by_key, ([(ids[0], m) for m in MONTHS],)),
        (db.paths_by_key, ([(p, m) for p in ids[:3] for m in MONTHS[:4]],)),
        (db.metrics_by_key, ([(p, MONTHS[2]) for p in ids],)),
        (db.metrics_by_key, ([(ids[0], MONTHS[1]), (ids[4], MONTHS[8])],)),
        (db.customers_and_metrics, (ids[0], MONTHS[0])),
    ]
    for fn, args in reads:
        with _Statements(conn) as rec:
            fn(conn, *args)
        searched = 0
        for sql, plan in _plans(conn, rec.seen):
            for name in TABLES:
                if f" {name}" not in sql:
                    continue
                on_table = [line for line in plan if f" {name} " in f"{line} "]
                assert on_table, (fn.__name__, sql, plan)
                assert all(line.startswith("SEARCH ") and "USING PRIMARY KEY" in line for line in on_table), (
                    fn.__name__,
                    sql,
                    plan,
                )
                searched += sum("PRIMARY KEY (month=? AND partner_id=?)" in line for line in on_table)
        assert searched, (fn.__name__, "no search by (month, partner_id)")
