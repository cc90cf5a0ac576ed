"""Finding the input files (CSV or parquet) and reading their required columns as text.

Errors name the file: a missing or doubled table, a bad header, an unreadable file, a month
folder that is not ``YYYY-MM``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from scoring.calendar import MONTH_PATTERN, format_month, parse_month
from scoring.frames import InputError, MissingSnapshotError, Problem
from scoring.ingest.checks import ROW, merge_errors

MONTHS_DIR = "months"
PARTNERS = "partners"
CERTIFICATIONS = "certifications"
USAGE = "workload_usage"
ASSOCIATIONS = "associations"

# parquet column types that are cast to text and validated like CSV text
_CASTABLE = (
    pl.String,
    pl.Categorical,
    pl.Enum,
    pl.Boolean,
    pl.Date,
    pl.Datetime,
    pl.Decimal,
    pl.Null,
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
    pl.Float32,
    pl.Float64,
)


@dataclass(frozen=True)
class Table:
    rel: str  # path relative to the data folder
    path: Path
    fmt: str  # "csv" or "parquet"


@dataclass(frozen=True)
class MonthFiles:
    """A month's two tables, the association types their rows may name and the workload renames
    (old -> new) under which two names are one workload in the key checks."""

    usage: Table
    associations: Table
    association_types: tuple[str, ...]
    workload_renames: Mapping[str, str] = field(default_factory=dict, hash=False)


def rel(*parts: str) -> str:
    return "/".join(parts)


def month_folder(month: dt.date) -> str:
    return rel(MONTHS_DIR, format_month(month))


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _unreadable(rel: str, exc: BaseException) -> InputError:
    """The file could not be parsed at all: name it, with the reader's reason in one line."""
    text = str(exc)
    if "Original error:" in text:  # Polars' CSV errors put the reason last, after advice
        text = text.split("Original error:", 1)[1].replace("`", "")
    else:
        text = text.strip().split("\n\n", 1)[0]
    detail = _one_line(text, 300) or type(exc).__name__
    return InputError([Problem(rel, None, None, None, f"unreadable file ({detail})")])


def _file_error(stem: str, rule: str) -> InputError:
    return InputError([Problem(f"{stem}.csv", None, None, None, rule)])


def find_table(data_dir: Path, stem: str) -> Table | None:
    """The CSV or parquet file of a table (``stem`` relative to the data folder), if any."""
    csv = data_dir / f"{stem}.csv"
    pq = data_dir / f"{stem}.parquet"
    has_csv, has_pq = csv.is_file(), pq.is_file()
    if has_csv and has_pq:
        raise _file_error(stem, f"both {stem}.csv and {stem}.parquet exist; keep only one of them")
    if has_csv:
        return Table(f"{stem}.csv", csv, "csv")
    if has_pq:
        return Table(f"{stem}.parquet", pq, "parquet")
    return None


def require_table(data_dir: Path, stem: str) -> Table:
    table = find_table(data_dir, stem)
    if table is None:
        raise _file_error(stem, f"missing file (expected {stem}.csv or .parquet)")
    return table


def month_files(
    data_dir: Path,
    month: dt.date,
    association_types: tuple[str, ...],
    workload_renames: Mapping[str, str] | None = None,
) -> MonthFiles:
    """The month's two files (cheap: file system only); errors name what is missing."""
    folder = month_folder(month)
    if not (data_dir / folder).is_dir():
        raise MissingSnapshotError([month])
    errors, tables = [], []
    for stem in (USAGE, ASSOCIATIONS):
        try:
            tables.append(require_table(data_dir, rel(folder, stem)))
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise merge_errors(errors)
    return MonthFiles(tables[0], tables[1], association_types, dict(workload_renames or {}))


def list_months(data_dir: str | Path) -> list[dt.date]:
    """The snapshot months: folders ``months/YYYY-MM`` as first-of-month dates, sorted.

    A folder under ``months/`` that is not named ``YYYY-MM`` is an error; files and hidden
    entries (``.``-prefixed) there are ignored. No ``months/`` folder means no months.
    """
    root = Path(data_dir) / MONTHS_DIR
    if not root.is_dir():
        return []
    months, bad = [], []
    for entry in root.iterdir():
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if MONTH_PATTERN.fullmatch(entry.name) is None:
            rule = "month folder name must be YYYY-MM (e.g. 2024-06)"
            bad.append(Problem(rel(MONTHS_DIR, entry.name), None, None, None, rule))
        else:
            months.append(parse_month(entry.name))
    if bad:
        bad.sort(key=lambda p: p.file)
        raise InputError(bad, max_shown=len(bad))
    return sorted(months)


def scan(table: Table, columns: Sequence[str], *, row_index: bool = True) -> pl.LazyFrame:
    """A lazy frame of the required ``columns`` as text (plus the 1-based row number).

    Checks the header / schema only (cheap): a missing column, a column given twice or a
    parquet column of a type that is not plain data is an error naming the file and column.
    """
    ri = ROW if row_index else None
    try:
        if table.fmt == "csv":
            lf = pl.scan_csv(
                table.path,
                infer_schema=False,
                row_index_name=ri,
                row_index_offset=1,
                glob=False,
                encoding="utf8",
            )
        else:
            lf = pl.scan_parquet(table.path, row_index_name=ri, row_index_offset=1, glob=False)
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise _unreadable(table.rel, exc) from exc

    problems = []
    header = _one_line(", ".join(repr(c) for c in schema if c != ROW), 160)
    for col in columns:
        if col not in schema:
            problems.append(Problem(table.rel, col, None, None, f"required column is missing (found: {header})"))
        elif f"{col}_duplicated_0" in schema:
            problems.append(Problem(table.rel, col, None, None, "column appears more than once"))
        elif schema[col].base_type() not in _CASTABLE:
            problems.append(Problem(table.rel, col, None, None, f"unsupported column type {schema[col]}"))
    if problems:
        raise InputError(problems, max_shown=len(problems))

    exprs = [pl.col(c) if schema[c] == pl.String else pl.col(c).cast(pl.String) for c in columns]
    return lf.select(*([pl.col(ROW)] if row_index else []), *exprs)


def collect(frames: Sequence[tuple[Table, pl.LazyFrame]]) -> list[pl.DataFrame]:
    """Collect the frames together; a failure names the file it came from."""
    try:
        return pl.collect_all([lf for _, lf in frames])
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        if len(frames) == 1:
            raise _unreadable(frames[0][0].rel, exc) from exc
    out = []
    for table, lf in frames:  # find the culprit(s)
        try:
            out.append(lf.collect())
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
            raise _unreadable(table.rel, exc) from exc
    return out  # pragma: no cover - the joint collect failed but each one succeeds
