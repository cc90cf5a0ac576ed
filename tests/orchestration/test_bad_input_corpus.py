"""Bad input through the Dagster pipeline, one case per rule of input-data.md.

Every case breaks one rule in a copy of the example data folder, then materializes 2024-06 with
the ``score_months`` multi-asset (the production path: ``dg.materialize`` of the asset, real
partition, real SQLite file or PostgreSQL database) into a database that already holds 2024-05
and 2024-06 scored from the good data. Each case must:

* fail the run, its headline naming the month (``2024-06 not scored, nothing written``) and the
  bad input, and its text naming the file and the column (and the row and value where the rule
  is about a value) -- the same text the ingestion raises (``service.score_months`` on the
  folder), which also reaches the failed blocking check ``monthly_snapshot / input_valid``;
* fail the month: no materialization recorded by the run;
* leave the database as it was: every table's row count and sha256 over its sorted rows
  (``tests.support.tables``, run ids and timestamps included) equal before and after.

The case builders use ``tests/support/inputs.py`` (``write_csv``, ``set_cell``, the headers and
file names), applied to the example's real files. SQLite for every case, PostgreSQL for a
representative subset; and one control case (allowed variations) that must succeed, to show the
harness can tell.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from orchestration import checks as C
from scoring import service
from scoring.frames import InputError
from storage import migrate
from storage.engines import dispose_engines, get_engine
from tests.support.dagster_runs import materialize, step_failure
from tests.support.inputs import (
    ASSOC_FILE,
    ASSOC_HEADER,
    CERTS_HEADER,
    EXAMPLE,
    JUN,
    MAY,
    PARTNERS_HEADER,
    USAGE_FILE,
    USAGE_HEADER,
    copy_example,
    set_cell,
    write_csv,
)
from tests.support.tables import fingerprint, month_rows

pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is missing")

STORED = [MAY, JUN]
PARTNERS_FILE = "partners.csv"
CERTS_FILE = "certifications.csv"
_HEADERS = {
    PARTNERS_FILE: PARTNERS_HEADER,
    CERTS_FILE: CERTS_HEADER,
    Path(USAGE_FILE).name: USAGE_HEADER,
    Path(ASSOC_FILE).name: ASSOC_HEADER,
}


def header(rel: str) -> list[str]:
    """The spec's header of a table file (any month)."""
    return _HEADERS[Path(rel).name]


# ---- editing the example's files -------------------------------------------------------------


def rows_of(data: Path, rel: str) -> list[list[str]]:
    """The data rows of a CSV of the folder (its header checked against the spec's)."""
    with (data / rel).open(encoding="utf-8", newline="") as f:
        head, *rows = csv.reader(f)
    assert head == header(rel), f"{rel}: unexpected header {head}"
    return rows


def edit(rel: str, row: int, column: str, value: str) -> Callable[[Path], str]:
    """Set one cell (data row ``row``, 1-based); the problem is that cell."""

    def build(data: Path) -> str:
        rows = set_cell(rows_of(data, rel), header(rel), row, column, value)
        write_csv(data / rel, header(rel), rows)
        return f"{rel}, column '{column}', row {row}, value {value!r}"

    return build


def same_as(rel: str, column: str, source: str) -> Callable[[Path], str]:
    """Data row 1's ``column`` set to its own ``source`` value (expires_on = earned_on)."""

    def build(data: Path) -> str:
        rows = rows_of(data, rel)
        value = rows[0][header(rel).index(source)]
        write_csv(data / rel, header(rel), set_cell(rows, header(rel), 1, column, value))
        return f"{rel}, column '{column}', row 1, value {value!r}"

    return build


def repeat_first(rel: str, key: list[str], respell: dict[str, Callable[[str], str]]):
    """A last row repeating data row 1's key, some key cells re-spelled (padded, case changed)."""

    def build(data: Path) -> str:
        names = header(rel)
        rows = rows_of(data, rel)
        extra = list(rows[0])
        for column, change in respell.items():
            extra[names.index(column)] = change(extra[names.index(column)])
        rows.append(extra)
        write_csv(data / rel, names, rows)
        shown = ", ".join(extra[names.index(c)] for c in key)
        return f"{rel}, column '{', '.join(key)}', row {len(rows)}, value {shown!r}"

    return build


def drop_column(rel: str, column: str) -> Callable[[Path], str]:
    def build(data: Path) -> str:
        names = header(rel)
        keep = [i for i, c in enumerate(names) if c != column]
        rows = [[r[i] for i in keep] for r in rows_of(data, rel)]
        write_csv(data / rel, [names[i] for i in keep], rows)
        return f"{rel}, column '{column}'"

    return build


def rename_column(rel: str, column: str, written: str) -> Callable[[Path], str]:
    """The header spells ``column`` as ``written`` (names are exact)."""

    def build(data: Path) -> str:
        names = [written if c == column else c for c in header(rel)]
        write_csv(data / rel, names, rows_of(data, rel))
        return f"{rel}, column '{column}'"

    return build


def raw_bytes(rel: str, content: bytes) -> Callable[[Path], str]:
    def build(data: Path) -> str:
        (data / rel).write_bytes(content)
        return rel

    return build


def _to_parquet(data: Path, rel: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> str:
    """``rel`` (a CSV) rewritten as parquet after ``change``; the CSV removed."""
    path = data / rel
    frame = change(pl.read_csv(path, infer_schema=False))
    target = path.with_suffix(".parquet")
    frame.write_parquet(target)
    path.unlink()
    return rel.removesuffix(".csv") + ".parquet"


def parquet_cell(rel: str, column: str, dtype, row: int, value) -> Callable[[Path], str]:
    """The table as parquet with ``column`` typed ``dtype``, data row ``row`` set to ``value``."""

    def build(data: Path) -> str:
        def change(df: pl.DataFrame) -> pl.DataFrame:
            typed = df.with_columns(pl.col(column).str.to_datetime() if dtype == pl.Datetime
                                    else pl.col(column).cast(dtype))  # fmt: skip
            cells = typed[column].to_list()
            cells[row - 1] = value if value is not None else cells[row - 1]
            return typed.with_columns(pl.Series(column, cells, dtype=typed[column].dtype))

        rel_pq = _to_parquet(data, rel, change)
        return f"{rel_pq}, column '{column}', row {row}"

    return build


def both_formats(rel: str) -> Callable[[Path], str]:
    def build(data: Path) -> str:
        pl.read_csv(data / rel, infer_schema=False).write_parquet((data / rel).with_suffix(".parquet"))
        return rel.removesuffix(".csv") + ".parquet"

    return build


def truncated_parquet(rel: str) -> Callable[[Path], str]:
    def build(data: Path) -> str:
        rel_pq = _to_parquet(data, rel, lambda df: df)
        whole = (data / rel_pq).read_bytes()
        (data / rel_pq).write_bytes(whole[: len(whole) // 2])
        return rel_pq

    return build


def remove(rel: str) -> Callable[[Path], str]:
    def build(data: Path) -> str:
        target = data / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        return rel.removesuffix(".csv")

    return build


def make_folder(rel: str) -> Callable[[Path], str]:
    def build(data: Path) -> str:
        (data / rel).mkdir()
        return rel

    return build


# ---- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    rule: str  # the rule of input-data.md it breaks
    build: Callable[[Path], str]  # breaks it in a data folder; returns the text the error names
    file: str  # the file the error must name
    column: str | None  # the column it must name (None: the rule is about a file or folder)
    bad_input: str = "2024-06"  # what the run's headline names

    def __str__(self) -> str:
        return self.id


U, S = USAGE_FILE, ASSOC_FILE
LOOKBACK_USAGE = "months/2023-08/workload_usage.csv"
CASES = [
    # partners
    Case("partners-id-empty", "partners.partner_id non-empty",
         edit(PARTNERS_FILE, 2, "partner_id", ""), PARTNERS_FILE, "partner_id", PARTNERS_FILE),
    Case("partners-id-unique", "partners.partner_id unique",
         repeat_first(PARTNERS_FILE, ["partner_id"], {"partner_name": str.upper}),
         PARTNERS_FILE, "partner_id", PARTNERS_FILE),
    Case("partners-missing-column", "partners has partner_name",
         drop_column(PARTNERS_FILE, "partner_name"), PARTNERS_FILE, "partner_name", PARTNERS_FILE),
    # certifications
    Case("certs-partner-empty", "certifications.partner_id non-empty",
         edit(CERTS_FILE, 1, "partner_id", ""), CERTS_FILE, "partner_id", CERTS_FILE),
    Case("certs-person-empty", "certifications.person_id non-empty",
         edit(CERTS_FILE, 2, "person_id", "   "), CERTS_FILE, "person_id", CERTS_FILE),
    Case("certs-earned-missing", "certifications.earned_on required",
         edit(CERTS_FILE, 3, "earned_on", ""), CERTS_FILE, "earned_on", CERTS_FILE),
    Case("certs-earned-not-a-date", "certifications.earned_on is a date YYYY-MM-DD",
         edit(CERTS_FILE, 1, "earned_on", "2023-02-30"), CERTS_FILE, "earned_on", CERTS_FILE),
    Case("certs-expires-not-a-date", "certifications.expires_on empty or a date",
         edit(CERTS_FILE, 2, "expires_on", "never"), CERTS_FILE, "expires_on", CERTS_FILE),
    Case("certs-expires-not-after-earned", "certifications.expires_on after earned_on",
         same_as(CERTS_FILE, "expires_on", "earned_on"), CERTS_FILE, "expires_on", CERTS_FILE),
    Case("certs-missing-column", "certifications has earned_on",
         drop_column(CERTS_FILE, "earned_on"), CERTS_FILE, "earned_on", CERTS_FILE),
    # workload_usage
    Case("usage-tenant-empty", "workload_usage.tenant_id non-empty",
         edit(U, 2, "tenant_id", ""), U, "tenant_id"),
    Case("usage-paid-not-integer", "workload_usage.paid_seats integer",
         edit(U, 2, "paid_seats", "abc"), U, "paid_seats"),
    Case("usage-paid-negative", "workload_usage.paid_seats >= 0",
         edit(U, 3, "paid_seats", "-5"), U, "paid_seats"),
    Case("usage-active-not-integer", "workload_usage.active_users integer",
         edit(U, 1, "active_users", "12.5"), U, "active_users"),
    Case("usage-active-negative", "workload_usage.active_users >= 0",
         edit(U, 4, "active_users", "-1"), U, "active_users"),
    Case("usage-key-unique", "(tenant_id, workload) unique, workload trimmed and case-folded",
         repeat_first(U, ["tenant_id", "workload"], {"workload": lambda w: f" {w.upper()} "}),
         U, "tenant_id, workload"),
    Case("usage-missing-column", "workload_usage has active_users",
         drop_column(U, "active_users"), U, "active_users"),
    Case("usage-column-name-not-exact", "column names are exact",
         rename_column(U, "workload", " workload"), U, "workload"),
    Case("usage-lookback-month", "workload_usage.paid_seats >= 0, in a month M-12..M reads",
         edit(LOOKBACK_USAGE, 5, "paid_seats", "-7"), LOOKBACK_USAGE, "paid_seats", "2023-08"),
    # associations
    Case("assoc-partner-empty", "associations.partner_id non-empty",
         edit(S, 3, "partner_id", ""), S, "partner_id"),
    Case("assoc-tenant-empty", "associations.tenant_id non-empty",
         edit(S, 1, "tenant_id", " "), S, "tenant_id"),
    Case("assoc-type-unknown", "association_type one of CPOR, DPOR, CSP_T1, CSP_T2",
         edit(S, 3, "association_type", "CSP_T3"), S, "association_type"),
    Case("assoc-date-not-a-date", "associated_on is a date YYYY-MM-DD",
         edit(S, 4, "associated_on", "2024/06/01"), S, "associated_on"),
    Case("assoc-date-after-month-end", "associated_on on or before the month's end",
         edit(S, 2, "associated_on", "2024-07-01"), S, "associated_on"),
    Case("assoc-key-unique", "(partner, tenant, workload, type) unique, folded",
         repeat_first(S, ["partner_id", "tenant_id", "workload", "association_type"],
                      {"workload": str.lower, "association_type": lambda t: f" {t.lower()}"}),
         S, "partner_id, tenant_id, workload, association_type"),
    Case("assoc-missing-column", "associations has associated_on",
         drop_column(S, "associated_on"), S, "associated_on"),
    # files and folders
    Case("csv-and-parquet", "a table is .csv or .parquet, not both",
         both_formats(U), U, None),
    Case("csv-not-utf8", "CSV is UTF-8 (an unreadable file)",
         raw_bytes(U, b"tenant_id,workload,paid_seats,active_users\nT1,Exch\xff\xfeange,1,1\n"),
         U, None),
    Case("csv-empty-file", "CSV has a header row (an unreadable file)",
         raw_bytes(S, b""), S, None),
    Case("csv-unterminated-quote", "CSV is comma-separated text (an unreadable file)",
         raw_bytes(U, b'tenant_id,workload,paid_seats,active_users\nT1,"Exchange,1,1\n'), U, None),
    Case("parquet-unreadable", "an unreadable parquet file",
         truncated_parquet(S), "months/2024-06/associations.parquet", None),
    Case("parquet-count-not-integer", "paid_seats integer (a parquet float column)",
         parquet_cell(U, "paid_seats", pl.Float64, 3, 12.5),
         "months/2024-06/workload_usage.parquet", "paid_seats"),
    Case("parquet-date-is-datetime", "associated_on is a date (a parquet datetime column)",
         parquet_cell(S, "associated_on", pl.Datetime, 1, None),
         "months/2024-06/associations.parquet", "associated_on"),
    Case("month-file-missing", "a month folder holds associations",
         remove(S), "months/2024-06/associations", None),
    Case("month-folder-missing", "scoring M reads the folders M-12..M",
         remove("months/2023-09"), "months/2023-09", None, "2023-09"),
    Case("month-folder-name", "month folders are named YYYY-MM",
         make_folder("months/2024-6"), "months/2024-6", None, "months/2024-6"),
]  # fmt: skip
PG_SUBSET = {
    "partners-id-unique",
    "certs-expires-not-after-earned",
    "usage-paid-negative",
    "assoc-key-unique",
    "parquet-unreadable",
    "month-folder-missing",
}


# ---- the harness -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored_sqlite(tmp_path_factory) -> Path:
    """A SQLite file holding 2024-05 and 2024-06 scored from the example (copied per case)."""
    path = tmp_path_factory.mktemp("stored") / "stored.sqlite"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    assert materialize(url, months=STORED).success
    dispose_engines(url)  # the last connection closes: WAL checkpointed into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def run_case(case: Case, url: str, tmp_path: Path) -> None:
    engine = get_engine(url)
    before = fingerprint(engine)
    rows = month_rows(engine)
    assert all(rows[t].get(m) for t in ("designation", "customer_detail") for m in STORED)

    data = copy_example(tmp_path)
    named = case.build(data)
    with pytest.raises(InputError) as oracle:  # what the ingestion itself says about the folder
        service.score_months([JUN], directory=data)
    assert case.file in str(oracle.value)

    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(url, data, months=[JUN], instance=instance)
        assert not result.success, f"{case.id}: the run succeeded"
        text = step_failure(result)
        head, _, error = text.partition("\n")
        assert head == f"2024-06 not scored, nothing written (bad input: {case.bad_input})"
        assert error == str(oracle.value)  # the ingestion's text, as it is
        assert case.file in error and named in error
        if case.column is not None:
            assert f"column '{case.column}'" in error
        (check,) = result.get_asset_check_evaluations()
        assert (check.check_name, check.passed, check.severity) == (C.INPUT_VALID, False, dg.AssetCheckSeverity.ERROR)
        assert error in check.metadata["error"].md_str
        assert not result.get_asset_materialization_events()  # the month failed
        assert not instance.get_materialized_partitions(dg.AssetKey("designations"))

    assert fingerprint(engine) == before, f"{case.id}: the database changed"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_fails_the_month_and_changes_nothing_sqlite(case, stored_sqlite, tmp_path):
    path = tmp_path / "results.sqlite"
    shutil.copyfile(stored_sqlite, path)
    url = f"sqlite:///{path}"
    try:
        run_case(case, url, tmp_path)
    finally:
        dispose_engines(url)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in PG_SUBSET], ids=str)
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_bad_input_fails_the_month_and_changes_nothing_postgresql(case, db_url, tmp_path):
    assert materialize(db_url, months=STORED).success
    run_case(case, db_url, tmp_path)


def test_the_corpus_covers_every_rule_and_a_valid_variation_passes(stored_sqlite, tmp_path):
    """The control: allowed variations (an extra column, lower-case association types) score,
    and give the same rows as the example itself (so the harness can tell a pass)."""
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.id for c in CASES} >= PG_SUBSET
    path = tmp_path / "results.sqlite"
    shutil.copyfile(stored_sqlite, path)
    url = f"sqlite:///{path}"
    data = copy_example(tmp_path)
    rows = [[*r, "note"] for r in rows_of(data, S)]
    for r in rows:
        r[3] = r[3].lower()
    write_csv(data / S, [*ASSOC_HEADER, "extra"], rows)
    try:
        before = fingerprint(get_engine(url), volatile=False)
        result = materialize(url, data, months=[JUN])
        assert result.success
        assert fingerprint(get_engine(url), volatile=False) == before
    finally:
        dispose_engines(url)
