"""Ingestion: reading and validating the input folder (spec/input-data.md)."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from scoring.frames import (
    ASSOCIATIONS_SCHEMA,
    CERTIFICATIONS_SCHEMA,
    PARTNERS_SCHEMA,
    USAGE_SCHEMA,
    InputError,
    MissingSnapshotError,
)
from scoring.ingest import (
    iter_snapshots,
    known_partner_ids,
    list_months,
    read_certifications,
    read_month,
    read_partners,
    read_snapshots,
)
from tests.support.inputs import (
    ASSOC_FILE,
    ASSOC_HEADER,
    CERTS_HEADER,
    PARTNERS_HEADER,
    USAGE_FILE,
    USAGE_HEADER,
    set_cell,
    write_csv,
)
from tests.support.paths import EXAMPLE_DATA

EXAMPLE = EXAMPLE_DATA

JUNE = dt.date(2024, 6, 1)


# ---- fixtures and helpers ----------------------------------------------------------------------


def usage_rows() -> list[list[str]]:
    return [
        ["T1", "Exchange", "400", "200"],
        ["T1", "Teams", "400", "350"],
        ["T2", "Intune", "50", "10"],
        ["T3", "Other", "0", "0"],
    ]


def assoc_rows() -> list[list[str]]:
    return [
        ["P1", "T1", "Exchange", "CPOR", "2023-05-01"],
        ["P1", "T1", "Teams", "DPOR", "2024-06-30"],
        ["P2", "T2", "Intune", "CSP_T1", "2022-01-15"],
        ["P3", "T9", "Yammer", "CSP_T2", "2024-06-01"],
    ]


def make_month(data: Path, month: str = "2024-06", usage=None, assoc=None) -> Path:
    folder = data / "months" / month
    write_csv(folder / "workload_usage.csv", USAGE_HEADER, usage_rows() if usage is None else usage)
    write_csv(folder / "associations.csv", ASSOC_HEADER, assoc_rows() if assoc is None else assoc)
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A small valid data folder with the month 2024-06."""
    d = tmp_path / "data"
    write_csv(d / "partners.csv", PARTNERS_HEADER, [["P1", "Contoso"], ["P2", ""], ["P4", "Fabrikam"]])
    write_csv(
        d / "certifications.csv",
        CERTS_HEADER,
        [
            ["P1", "P1-01", "Microsoft 365 Fundamentals", "2023-01-10", ""],
            [
                "P5",
                "P5-01",
                "Teams Meetings and Meeting Rooms Technical Assessment",
                "2023-01-10",
                "2025-01-10",
            ],
        ],
    )
    make_month(d)
    return d


def raises_input(fn, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return info.value


def assert_names(err: InputError, file: str, column: str | None, row: int | None, value: str | None):
    """The error holds a problem with these fields, and its message names all of them."""
    matches = [p for p in err.problems if p.file == file and p.column == column and p.row == row and p.value == value]
    assert matches, f"no problem ({file}, {column}, {row}, {value!r}) in:\n{err}"
    text = str(err)
    assert file in text
    if column is not None:
        assert f"column '{column}'" in text
    if row is not None:
        assert f"row {row}" in text
    if value is not None:
        assert repr(value) in text
    return matches[0]


def bad_usage(data: Path, row: int, column: str, value: str) -> InputError:
    make_month(data, usage=set_cell(usage_rows(), USAGE_HEADER, row, column, value))
    return raises_input(read_month, data, JUNE)


def bad_assoc(data: Path, row: int, column: str, value: str) -> InputError:
    make_month(data, assoc=set_cell(assoc_rows(), ASSOC_HEADER, row, column, value))
    return raises_input(read_month, data, JUNE)


def csv_data_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


# ---- the example folder ------------------------------------------------------------------------


def test_example_reads_cleanly():
    months = list_months(EXAMPLE)
    assert len(months) == 24
    assert months[0] == dt.date(2023, 1, 1) and months[-1] == dt.date(2024, 12, 1)

    partners = read_partners(EXAMPLE)
    certs = read_certifications(EXAMPLE)
    assert dict(partners.schema) == PARTNERS_SCHEMA
    assert dict(certs.schema) == CERTIFICATIONS_SCHEMA
    assert partners.height == csv_data_rows(EXAMPLE / "partners.csv")
    assert certs.height == csv_data_rows(EXAMPLE / "certifications.csv")

    progress: list[str] = []
    snaps = read_snapshots(EXAMPLE, months, progress=progress.append)
    assert snaps.months == frozenset(months)
    assert dict(snaps.usage.schema) == USAGE_SCHEMA
    assert dict(snaps.associations.schema) == ASSOCIATIONS_SCHEMA
    assert len(progress) == 24
    usage_counts = dict(snaps.usage.group_by("month").len().iter_rows())
    assoc_counts = dict(snaps.associations.group_by("month").len().iter_rows())
    for m in months:
        folder = EXAMPLE / "months" / f"{m:%Y-%m}"
        assert usage_counts[m] == csv_data_rows(folder / "workload_usage.csv")
        assert assoc_counts[m] == csv_data_rows(folder / "associations.csv")
    assert snaps.usage.null_count().row(0) == (0,) * 5
    assert snaps.associations.null_count().row(0) == (0,) * 6
    assert set(snaps.associations["association_type"].unique()) <= {
        "CPOR",
        "DPOR",
        "CSP_T1",
        "CSP_T2",
    }

    # one month alone gives that month's rows of the stack, in file order
    june = read_month(EXAMPLE, JUNE)
    assert_frame_equal(june.usage, snaps.usage.filter(pl.col("month") == JUNE))
    assert_frame_equal(june.associations, snaps.associations.filter(pl.col("month") == JUNE))

    ids = known_partner_ids(EXAMPLE)
    assert ids.name == "partner_id" and ids.dtype == pl.String
    assert ids.is_sorted() and ids.n_unique() == ids.len()
    assert set(partners["partner_id"]) <= set(ids)
    assert set(snaps.associations["partner_id"]) <= set(ids)
    assert set(certs["partner_id"]) <= set(ids)


def test_small_folder_values(data: Path):
    snap = read_month(data, JUNE)
    assert snap.months == frozenset([JUNE])
    assert snap.usage.to_dicts()[0] == {
        "month": JUNE,
        "tenant_id": "T1",
        "workload": "Exchange",
        "paid_seats": 400,
        "active_users": 200,
    }
    assert snap.associations["associated_on"].to_list() == [
        dt.date(2023, 5, 1),
        dt.date(2024, 6, 30),
        dt.date(2022, 1, 15),
        dt.date(2024, 6, 1),
    ]
    assert snap.warnings == []
    partners = read_partners(data)
    assert partners.to_dicts() == [
        {"partner_id": "P1", "partner_name": "Contoso"},
        {"partner_id": "P2", "partner_name": None},
        {"partner_id": "P4", "partner_name": "Fabrikam"},
    ]
    certs = read_certifications(data)
    assert certs["expires_on"].to_list() == [None, dt.date(2025, 1, 10)]
    assert known_partner_ids(data).to_list() == ["P1", "P2", "P3", "P4", "P5"]


def test_association_type_is_trimmed_and_upper_cased_and_workload_kept(data: Path):
    rows = assoc_rows()
    rows[0][3] = " cpor "
    rows[2][3] = "Csp_t1"
    rows[0][2] = " exchange"
    make_month(data, assoc=rows)
    assoc = read_month(data, JUNE).associations
    assert assoc["association_type"].to_list() == ["CPOR", "DPOR", "CSP_T1", "CSP_T2"]
    assert assoc["workload"][0] == " exchange"  # as written


def test_absent_partners_and_certifications_are_empty(tmp_path: Path):
    make_month(tmp_path)
    assert read_partners(tmp_path).is_empty()
    assert dict(read_partners(tmp_path).schema) == PARTNERS_SCHEMA
    assert dict(read_certifications(tmp_path).schema) == CERTIFICATIONS_SCHEMA
    assert known_partner_ids(tmp_path).to_list() == ["P1", "P2", "P3"]


def test_extra_columns_are_ignored(data: Path):
    rows = [["x", *r, "y"] for r in usage_rows()]
    write_csv(data / USAGE_FILE, ["note", *USAGE_HEADER, "other"], rows)
    usage = read_month(data, JUNE).usage
    assert usage.columns == list(USAGE_SCHEMA)
    assert usage["paid_seats"].to_list() == [400, 400, 50, 0]


# ---- parquet ---------------------------------------------------------------------------------


def test_parquet_equivalence(tmp_path: Path):
    """The same data written as typed parquet files gives identical frames."""
    src, dst = EXAMPLE, tmp_path / "pq"
    months = list_months(src)[-3:]
    pl.read_csv(src / "partners.csv", infer_schema=False).write_parquet(dst / "partners.parquet", mkdir=True)
    pl.read_csv(src / "certifications.csv", try_parse_dates=True).write_parquet(dst / "certifications.parquet")
    for m in months:
        for name in ("workload_usage", "associations"):
            frame = pl.read_csv(src / "months" / f"{m:%Y-%m}" / f"{name}.csv", try_parse_dates=True)
            frame.write_parquet(dst / "months" / f"{m:%Y-%m}" / f"{name}.parquet", mkdir=True)
    pq_assoc = pl.read_parquet(dst / "months" / f"{months[0]:%Y-%m}" / "associations.parquet")
    assert pq_assoc.schema["associated_on"] == pl.Date  # really typed, not text
    assert pl.read_parquet(dst / "certifications.parquet").schema["earned_on"] == pl.Date

    assert list_months(dst) == months
    assert_frame_equal(read_partners(dst), read_partners(src))
    assert_frame_equal(read_certifications(dst), read_certifications(src))
    a, b = read_snapshots(dst, months), read_snapshots(src, months)
    assert_frame_equal(a.usage, b.usage)
    assert_frame_equal(a.associations, b.associations)
    assert a.warnings == [w.replace(".csv", ".parquet") for w in b.warnings]


def test_parquet_text_columns_equivalent(data: Path):
    folder = data / "months" / "2024-06"
    expected = read_month(data, JUNE)
    for name in ("workload_usage", "associations"):
        pl.read_csv(folder / f"{name}.csv", infer_schema=False).write_parquet(folder / f"{name}.parquet")
        (folder / f"{name}.csv").unlink()
    got = read_month(data, JUNE)
    assert_frame_equal(got.usage, expected.usage)
    assert_frame_equal(got.associations, expected.associations)


def test_parquet_float_count_is_wrong_type(data: Path):
    folder = data / "months" / "2024-06"
    frame = pl.read_csv(folder / "workload_usage.csv").with_columns(pl.col("paid_seats").cast(pl.Float64))
    frame = frame.with_columns(
        pl.when(pl.col("tenant_id") == "T2").then(12.5).otherwise(pl.col("paid_seats")).alias("paid_seats")
    )
    frame.write_parquet(folder / "workload_usage.parquet")
    (folder / "workload_usage.csv").unlink()
    err = raises_input(read_month, data, JUNE)
    assert_names(err, "months/2024-06/workload_usage.parquet", "paid_seats", 3, "12.5")


def test_both_formats_is_an_error(data: Path):
    pl.read_csv(data / USAGE_FILE, infer_schema=False).write_parquet(data / "months/2024-06/workload_usage.parquet")
    err = raises_input(read_month, data, JUNE)
    assert "months/2024-06/workload_usage.csv" in str(err)
    assert "months/2024-06/workload_usage.parquet" in str(err)

    pl.read_csv(data / "partners.csv", infer_schema=False).write_parquet(data / "partners.parquet")
    err = raises_input(read_partners, data)
    assert "partners.csv" in str(err) and "partners.parquet" in str(err)


# ---- one test per rule -----------------------------------------------------------------------


def test_missing_column(data: Path):
    write_csv(
        data / ASSOC_FILE,
        [c for c in ASSOC_HEADER if c != "associated_on"],
        [r[:4] for r in assoc_rows()],
    )
    err = raises_input(read_month, data, JUNE)
    assert_names(err, ASSOC_FILE, "associated_on", None, None)
    assert "missing" in str(err)


def test_missing_column_in_partners(data: Path):
    write_csv(data / "partners.csv", ["partner_id"], [["P1"]])
    err = raises_input(read_partners, data)
    assert_names(err, "partners.csv", "partner_name", None, None)


@pytest.mark.parametrize("value", ["abc", "", "1e3", "12.0", " 12"])
def test_wrong_type_integer(data: Path, value: str):
    err = bad_usage(data, 2, "active_users", value)
    p = assert_names(err, USAGE_FILE, "active_users", 2, value)
    assert "integer" in p.rule
    assert err.total == 1


def test_negative_count(data: Path):
    err = bad_usage(data, 3, "paid_seats", "-5")
    p = assert_names(err, USAGE_FILE, "paid_seats", 3, "-5")
    assert ">= 0" in p.rule


def test_non_integer_float(data: Path):
    err = bad_usage(data, 1, "paid_seats", "12.5")
    assert_names(err, USAGE_FILE, "paid_seats", 1, "12.5")


@pytest.mark.parametrize("value", ["2024-13-01", "2024/06/01", "2024-6-1", "2024-02-30", "", "yesterday"])
def test_bad_association_date(data: Path, value: str):
    err = bad_assoc(data, 4, "associated_on", value)
    p = assert_names(err, ASSOC_FILE, "associated_on", 4, value)
    assert "YYYY-MM-DD" in p.rule


def test_date_after_month_end(data: Path):
    err = bad_assoc(data, 2, "associated_on", "2024-07-01")
    p = assert_names(err, ASSOC_FILE, "associated_on", 2, "2024-07-01")
    assert "2024-06-30" in p.rule
    make_month(data, assoc=set_cell(assoc_rows(), ASSOC_HEADER, 2, "associated_on", "2024-06-30"))
    read_month(data, JUNE)  # the last day itself is fine


def test_unknown_association_type(data: Path):
    err = bad_assoc(data, 3, "association_type", "CSP_T3")
    p = assert_names(err, ASSOC_FILE, "association_type", 3, "CSP_T3")
    assert "CPOR" in p.rule


def test_duplicate_usage_key_after_folding_workload(data: Path):
    rows = usage_rows() + [["T1", " exchange ", "1", "1"], ["T2", "INTUNE", "2", "2"]]
    make_month(data, usage=rows)
    err = raises_input(read_month, data, JUNE)
    p = assert_names(err, USAGE_FILE, "tenant_id, workload", 5, "T1,  exchange ")
    assert "row 1" in p.rule  # the row it repeats
    assert_names(err, USAGE_FILE, "tenant_id, workload", 6, "T2, INTUNE")
    assert err.total == 2


def test_usage_ids_are_compared_exactly(data: Path):
    rows = usage_rows() + [["t1", "Exchange", "1", "1"], [" T1", "Exchange", "1", "1"]]
    make_month(data, usage=rows)
    assert read_month(data, JUNE).usage.height == 6


def test_duplicate_association_key_after_folding_type(data: Path):
    rows = assoc_rows() + [["P2", "T2", "intune ", " csp_t1", "2022-01-16"]]
    rows.append(["P2", "T2", "Intune", "CSP_T2", "2022-01-16"])  # another type: fine
    make_month(data, assoc=rows)
    err = raises_input(read_month, data, JUNE)
    p = assert_names(
        err,
        ASSOC_FILE,
        "partner_id, tenant_id, workload, association_type",
        5,
        "P2, T2, intune ,  csp_t1",
    )
    assert "row 3" in p.rule
    assert err.total == 1


@pytest.mark.parametrize(
    ("reader", "file", "column", "row"),
    [
        ("usage", USAGE_FILE, "tenant_id", 2),
        ("usage", USAGE_FILE, "workload", 1),
        ("assoc", ASSOC_FILE, "partner_id", 3),
        ("assoc", ASSOC_FILE, "tenant_id", 1),
        ("assoc", ASSOC_FILE, "workload", 2),
        ("partners", "partners.csv", "partner_id", 2),
        ("certs", "certifications.csv", "partner_id", 1),
        ("certs", "certifications.csv", "person_id", 2),
    ],
)
@pytest.mark.parametrize("value", ["", "   "])
def test_empty_ids(data: Path, reader: str, file: str, column: str, row: int, value: str):
    if reader == "usage":
        err = bad_usage(data, row, column, value)
    elif reader == "assoc":
        err = bad_assoc(data, row, column, value)
    else:
        path = data / file
        with path.open(encoding="utf-8", newline="") as f:
            rows = [list(r) for r in csv.reader(f)]
        rows[row][rows[0].index(column)] = value
        write_csv(path, rows[0], rows[1:])
        err = raises_input(read_partners if reader == "partners" else read_certifications, data)
    p = assert_names(err, file, column, row, value)
    assert "empty" in p.rule
    assert err.total == 1  # not also reported as a duplicate or anything else


def test_certification_dates(data: Path):
    write_csv(
        data / "certifications.csv",
        CERTS_HEADER,
        [
            ["P1", "A", "x", "2023-01-10", "2023-01-10"],  # expires on the day earned: not after
            ["P1", "B", "x", "2023-01-10", "2023-01-09"],  # before
            ["P1", "C", "x", "", ""],  # earned_on required
            ["P1", "D", "x", "2023-01-10", "never"],
            ["P1", "E", "", "2023-01-10", "2023-01-11"],  # fine; the certification may be any name
        ],
    )
    err = raises_input(read_certifications, data)
    p = assert_names(err, "certifications.csv", "expires_on", 1, "2023-01-10")
    assert "after earned_on" in p.rule
    assert_names(err, "certifications.csv", "expires_on", 2, "2023-01-09")
    assert_names(err, "certifications.csv", "earned_on", 3, "")
    assert_names(err, "certifications.csv", "expires_on", 4, "never")
    assert err.total == 4


def test_duplicate_partner_id(data: Path):
    write_csv(data / "partners.csv", PARTNERS_HEADER, [["P1", "a"], ["P2", "b"], ["P1", "c"], ["p1", "d"]])
    err = raises_input(read_partners, data)
    p = assert_names(err, "partners.csv", "partner_id", 3, "P1")
    assert "duplicate" in p.rule and "row 1" in p.rule
    assert err.total == 1  # ids are compared exactly: p1 is another partner


@pytest.mark.parametrize(
    "content",
    [
        b"tenant_id,workload,paid_seats,active_users\nT1,Exch\xff\xfeange,1,1\n",  # bad UTF-8
        b"",  # empty file
        b'tenant_id,workload,paid_seats,active_users\nT1,"Exchange,1,1\n',  # unterminated quote
        bytes(range(256)) * 4,  # garbage
    ],
)
def test_unreadable_csv(data: Path, content: bytes):
    (data / USAGE_FILE).write_bytes(content)
    err = raises_input(read_month, data, JUNE)
    assert err.problems[0].file == USAGE_FILE
    assert USAGE_FILE in str(err)
    assert "Traceback" not in str(err)


def test_unreadable_parquet(data: Path):
    folder = data / "months" / "2024-06"
    pl.read_csv(folder / "associations.csv", infer_schema=False).write_parquet(folder / "associations.parquet")
    (folder / "associations.csv").unlink()
    whole = (folder / "associations.parquet").read_bytes()
    for content in (
        whole[: len(whole) // 2],
        b"PAR1" + b"\0" * 100 + b"PAR1",
        b"not parquet at all",
    ):
        (folder / "associations.parquet").write_bytes(content)
        err = raises_input(read_month, data, JUNE)
        assert_names(err, "months/2024-06/associations.parquet", None, None, None)
        assert "unreadable" in str(err)
    # known_partner_ids reads the same file: the error names it too
    err = raises_input(known_partner_ids, data)
    assert "months/2024-06/associations.parquet" in str(err)


def test_missing_file_in_month_folder(data: Path):
    (data / ASSOC_FILE).unlink()
    err = raises_input(read_month, data, JUNE)
    assert "months/2024-06/associations" in str(err)
    assert "missing" in str(err)


def test_missing_month_folder(data: Path):
    make_month(data, "2024-04")
    # a garbage file in a present month proves nothing was read before the check
    (data / "months/2024-04/workload_usage.csv").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(MissingSnapshotError) as info:
        read_snapshots(
            data,
            [dt.date(2024, 4, 1), dt.date(2024, 5, 1), JUNE, dt.date(2023, 6, 1)],
            needed_by="2024-06 scoring",
        )
    err = info.value
    assert err.missing == [dt.date(2023, 6, 1), dt.date(2024, 5, 1)]
    assert "months/2024-05" in str(err) and "months/2023-06" in str(err)
    assert "2024-06 scoring" in str(err)
    with pytest.raises(MissingSnapshotError):
        read_month(data, dt.date(2024, 5, 1))


@pytest.mark.parametrize("name", ["2024-6", "2024-13", "June", "2024_06", "2024-06-01"])
def test_bad_month_folder_name(data: Path, name: str):
    (data / "months" / name).mkdir()
    (data / "months" / "notes.txt").write_text("files and hidden folders are ignored")
    (data / "months" / ".cache").mkdir()
    err = raises_input(list_months, data)
    assert_names(err, f"months/{name}", None, None, None)
    assert "YYYY-MM" in str(err)


# ---- warnings, many problems, several rules ------------------------------------------------


def test_active_users_above_paid_seats_is_a_warning(data: Path):
    rows = usage_rows() + [[f"W{i}", "Teams", "10", str(11 + i)] for i in range(4)]
    make_month(data, usage=rows)
    snap = read_month(data, JUNE)
    assert snap.usage.height == 8  # still read
    (warning,) = snap.warnings
    assert USAGE_FILE in warning
    assert "4 rows" in warning
    assert "row 5" in warning and "W0" in warning
    # warnings of several months are concatenated
    make_month(data, "2024-05", usage=rows[:5], assoc=assoc_rows()[:1])
    snaps = read_snapshots(data, [dt.date(2024, 5, 1), JUNE])
    assert len(snaps.warnings) == 2 and "1 row " in snaps.warnings[0]


def test_first_few_problems_and_the_count(data: Path):
    rows = [[f"T{i}", "Teams", "10", "x" if i >= 10 else "1"] for i in range(60)]
    make_month(data, usage=rows)
    err = raises_input(read_month, data, JUNE)
    assert err.total == 50
    assert len(err.problems) == 5
    assert [p.row for p in err.problems] == [11, 12, 13, 14, 15]
    text = str(err)
    assert text.startswith("50 input problems")
    assert "50 problems in all" in text
    assert "row 11" in text and "row 16" not in text


def test_every_broken_rule_of_a_month_is_reported(data: Path):
    usage = usage_rows()
    usage[0][2] = "-1"
    usage[3][3] = "lots"
    assoc = assoc_rows()
    assoc[1][3] = "VAR"
    assoc[2][4] = "2024-07-02"
    make_month(data, usage=usage, assoc=assoc)
    err = raises_input(read_month, data, JUNE)
    assert err.total == 4
    assert_names(err, USAGE_FILE, "paid_seats", 1, "-1")
    assert_names(err, USAGE_FILE, "active_users", 4, "lots")
    assert_names(err, ASSOC_FILE, "association_type", 2, "VAR")
    assert_names(err, ASSOC_FILE, "associated_on", 3, "2024-07-02")


def test_a_bad_header_does_not_hide_the_other_files_problems(data: Path):
    make_month(data, usage=None, assoc=set_cell(assoc_rows(), ASSOC_HEADER, 1, "partner_id", ""))
    write_csv(data / USAGE_FILE, ["tenant_id", "workload", "paid_seats"], [["T1", "Teams", "1"]])
    err = raises_input(read_month, data, JUNE)
    assert err.total == 2
    assert_names(err, USAGE_FILE, "active_users", None, None)
    assert_names(err, ASSOC_FILE, "partner_id", 1, "")


def test_read_snapshots_reads_each_month_once_in_order(data: Path):
    make_month(data, "2024-05", usage=usage_rows()[:2], assoc=assoc_rows()[:1])
    shutil.copytree(data / "months" / "2024-06", data / "months" / "2024-07")
    months = [JUNE, dt.date(2024, 5, 1), JUNE, dt.date(2024, 7, 1)]
    snaps = read_snapshots(data, months)
    assert snaps.months == frozenset(months)
    assert snaps.usage["month"].unique(maintain_order=True).to_list() == sorted(set(months))
    assert snaps.usage.height == 2 + 4 + 4
    assert snaps.associations.height == 1 + 4 + 4
    empty = read_snapshots(data, [])
    assert empty.months == frozenset() and empty.usage.is_empty()
    assert dict(empty.associations.schema) == ASSOCIATIONS_SCHEMA


def test_read_snapshots_raises_the_bad_months_error(data: Path):
    make_month(
        data,
        "2024-05",
        usage=set_cell(usage_rows(), USAGE_HEADER, 2, "paid_seats", "-2"),
        assoc=assoc_rows()[:1],
    )
    err = raises_input(read_snapshots, data, [dt.date(2024, 5, 1), JUNE])
    assert_names(err, "months/2024-05/workload_usage.csv", "paid_seats", 2, "-2")
    assert err.total == 1


def test_known_partner_ids_reads_every_month(data: Path):
    make_month(data, "2023-01", assoc=[["P9", "T1", "Teams", "CPOR", "2023-01-01"]])
    ids = known_partner_ids(data)
    assert_series_equal(ids, pl.Series("partner_id", ["P1", "P2", "P3", "P4", "P5", "P9"]))


def test_missing_column_error_shows_the_header_found(data: Path):
    write_csv(data / USAGE_FILE, ["tenant_id", " workload", "paid_seats", "active_users"], usage_rows())
    err = raises_input(read_month, data, JUNE)
    p = assert_names(err, USAGE_FILE, "workload", None, None)
    assert "' workload'" in p.rule
    assert err.total == 1


def test_parquet_column_of_unsupported_type(data: Path):
    folder = data / "months" / "2024-06"
    frame = pl.read_csv(folder / "workload_usage.csv", infer_schema=False)
    frame.with_columns(pl.concat_list("tenant_id").alias("tenant_id")).write_parquet(folder / "workload_usage.parquet")
    (folder / "workload_usage.csv").unlink()
    err = raises_input(read_month, data, JUNE)
    p = assert_names(err, "months/2024-06/workload_usage.parquet", "tenant_id", None, None)
    assert "type" in p.rule


def test_parquet_datetime_is_not_a_date(data: Path):
    folder = data / "months" / "2024-06"
    frame = pl.read_csv(folder / "associations.csv", try_parse_dates=True)
    frame.with_columns(pl.col("associated_on").cast(pl.Datetime("us"))).write_parquet(folder / "associations.parquet")
    (folder / "associations.csv").unlink()
    err = raises_input(read_month, data, JUNE)
    assert err.total == 4
    assert err.problems[0].column == "associated_on"
    assert err.problems[0].value.startswith("2023-05-01 00:00:00")


# ---- properties --------------------------------------------------------------------------------

_cell = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.integers(max_value=-1).map(str),
    st.sampled_from(["", " ", "1.5", "x", "+7", "007", "1 000", "99999999999999999999"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(_cell, _cell), min_size=1, max_size=30))
def test_counts_are_validated_like_python_int(tmp_path: Path, cells):
    """Every count cell is accepted exactly when it is a non-negative i64 (optional +), and
    then read as that number; otherwise it is reported, with the right row and value."""

    def ok(text: str) -> int | None:
        body = text[1:] if text.startswith("+") else text
        if not body.isascii() or not body.isdigit():
            return None
        n = int(body)
        return n if n < 2**63 else None

    rows = [[f"T{i}", "Teams", p, a] for i, (p, a) in enumerate(cells)]
    folder = tmp_path / f"case{abs(hash(tuple(cells)))}"
    make_month(folder, usage=rows, assoc=[])
    bad = [
        (i + 1, col, text)
        for i, pair in enumerate(cells)
        for col, text in zip(("paid_seats", "active_users"), pair, strict=True)
        if ok(text) is None
    ]
    if not bad:
        usage = read_month(folder, JUNE).usage
        assert usage["paid_seats"].to_list() == [ok(p) for p, _ in cells]
        assert usage["active_users"].to_list() == [ok(a) for _, a in cells]
        return
    err = raises_input(read_month, folder, JUNE)
    assert err.total == len(bad)
    shown = {(p.row, p.column, p.value) for p in err.problems}
    assert shown <= set(bad)
    first = min(bad)
    assert (first[0], first[1], first[2]) in shown


def test_known_partner_ids_without_months(tmp_path: Path):
    write_csv(tmp_path / "partners.csv", PARTNERS_HEADER, [["P2", "x"], ["P1", "y"]])
    assert known_partner_ids(tmp_path).to_list() == ["P1", "P2"]
    assert list_months(tmp_path) == []


_WORKLOAD_SPELLINGS = ["Exchange", "exchange", " Exchange", "EXCHANGE ", "Teams", "teams", "Yammer"]
_TYPE_SPELLINGS = ["CPOR", "cpor", " CPOR", "DPOR", "Dpor ", "CSP_T1", "csp_t2"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["P1", "p1", "P2"]),
            st.sampled_from(["T1", "T2", "t1"]),
            st.sampled_from(_WORKLOAD_SPELLINGS),
            st.sampled_from(_TYPE_SPELLINGS),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_duplicate_keys_match_a_python_reference(tmp_path: Path, rows):
    """Usage and association keys: ids exact, workload and type trimmed and case-folded; every
    repeat of an earlier row's key is reported, with the row it repeats."""
    folder = tmp_path / f"case{abs(hash(tuple(rows)))}"
    usage = [[t, w, "5", "1"] for _, t, w, _ in rows]
    assoc = [[p, t, w, ty, "2024-01-01"] for p, t, w, ty in rows]
    make_month(folder, usage=usage, assoc=assoc)

    def repeats(keys):
        first, out = {}, {}
        for row, key in enumerate(keys, start=1):
            if key in first:
                out[row] = first[key]
            else:
                first[key] = row
        return out

    want_usage = repeats([(t, w.strip().casefold()) for _, t, w, _ in rows])
    want_assoc = repeats([(p, t, w.strip().casefold(), ty.strip().casefold()) for p, t, w, ty in rows])
    if not want_usage and not want_assoc:
        snap = read_month(folder, JUNE)
        assert snap.usage.height == snap.associations.height == len(rows)
        assert snap.associations["association_type"].to_list() == [ty.strip().upper() for *_, ty in rows]
        return
    err = raises_input(read_month, folder, JUNE)
    assert err.total == len(want_usage) + len(want_assoc)
    for file, want in ((USAGE_FILE, want_usage), (ASSOC_FILE, want_assoc)):
        got = [p for p in err.problems if p.file == file]
        assert [p.row for p in got] == sorted(want)[:5]
        for p in got:
            assert p.rule.endswith(f"of row {want[p.row]}")


def test_crlf_line_endings(tmp_path: Path):
    folder = tmp_path / "months" / "2024-06"
    folder.mkdir(parents=True)
    (folder / "workload_usage.csv").write_bytes(b"tenant_id,workload,paid_seats,active_users\r\nT1,Teams,10,5\r\n")
    (folder / "associations.csv").write_bytes(
        b"partner_id,tenant_id,workload,association_type,associated_on\r\nP1,T1,Teams,CPOR,2024-06-01\r\n"
    )
    snap = read_month(tmp_path, JUNE)
    assert snap.usage["active_users"].to_list() == [5]
    assert snap.associations["associated_on"].to_list() == [JUNE]


def test_iter_snapshots_holds_one_month_read_ahead_while_the_consumer_works(monkeypatch):
    """Two reads run at once, but a month handed over is not followed by more than one month read
    ahead until the consumer asks again (a backfill holds its month and one more, not three)."""
    import scoring.ingest as ingest_module

    started: list[dt.date] = []
    real = ingest_module._read_month

    def recording(data_dir, m, files):
        started.append(m)
        return real(data_dir, m, files)

    monkeypatch.setattr(ingest_module, "_read_month", recording)
    months = list_months(EXAMPLE)[:6]
    for i, snap in enumerate(iter_snapshots(EXAMPLE, months, max_workers=2), 1):
        (got,) = snap.months
        assert got == months[i - 1]
        assert len(started) <= i + 1, (i, started)  # the month handed over and at most one more
    assert sorted(started) == months
