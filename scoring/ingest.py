"""Read and validate the input folder (``spec/input-data.md``) into the frames of ``frames.py``.

Every table may be ``<name>.csv`` (UTF-8, header row, comma) or ``<name>.parquet`` with the
same columns; both at once is an error. CSV files are read with every column as text (no type
inference) and parquet columns are cast to text, so both go through the same vectorised
validation and a bad value is reported exactly as written. A file that breaks a rule raises
:class:`~scoring.frames.InputError` naming the file, column, row and value of the
first few offending rows of every broken rule, and how many problems there are in all.

Only Polars and the standard library are used here: no Dagster, database or web imports.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import polars as pl

from scoring.calendar import month_end
from scoring.frames import (
    ASSOCIATIONS_SCHEMA,
    CERTIFICATIONS_SCHEMA,
    PARTNERS_SCHEMA,
    USAGE_SCHEMA,
    InputError,
    MissingSnapshotError,
    Problem,
    Snapshots,
)

__all__ = [
    "ASSOCIATION_TYPES",
    "known_partner_ids",
    "list_months",
    "read_certifications",
    "read_month",
    "read_partners",
    "read_snapshots",
]

ASSOCIATION_TYPES: tuple[str, ...] = ("CPOR", "DPOR", "CSP_T1", "CSP_T2")

MONTHS_DIR = "months"
PARTNERS = "partners"
CERTIFICATIONS = "certifications"
USAGE = "workload_usage"
ASSOCIATIONS = "associations"

PER_RULE = 5  # problems kept per broken rule (the count covers all of them)
WARNING_EXAMPLES = 3
MAX_VALUE_CHARS = 200  # longer offending values are shortened in the report

_MONTH_NAME = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_DATE_FORMAT = "%Y-%m-%d"

# internal column names (cannot clash with input columns: only the required ones are kept)
_ROW = "__row"

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


# ---- small expression helpers ----------------------------------------------------------------


def _blank(col: str) -> pl.Expr:
    """True when the text is missing, empty or whitespace only."""
    c = pl.col(col)
    return c.is_null() | (c.str.strip_chars() == "")


def _fold(col: str) -> pl.Expr:
    """Trimmed and case-folded text, for comparing keys."""
    return pl.col(col).str.strip_chars().str.to_lowercase()


def _canonical_type(col: str) -> pl.Expr:
    """An association type as output: trimmed, upper case."""
    return pl.col(col).str.strip_chars().str.to_uppercase()


def _int(col: str) -> pl.Expr:
    """The integer the text spells (optional sign and digits), else null."""
    return pl.col(col).str.to_integer(base=10, strict=False)


def _date(col: str) -> pl.Expr:
    """The date the text spells as YYYY-MM-DD, else null."""
    c = pl.col(col)
    parsed = c.str.to_date(_DATE_FORMAT, strict=False)
    return pl.when(c.str.contains(_DATE_TEXT)).then(parsed).otherwise(None)


# ---- validation plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    """One rule of one column: ``bad`` is True on the rows that break it.

    A ``per_value`` check depends on the column's own text only (``bad`` is an expression of
    ``pl.col(column)``): it is evaluated on the column's distinct values, which is much cheaper
    for the low-cardinality columns (workload, type, dates) than string work on every row.
    A row-level check may use the parsed ``__`` columns of the plan.
    """

    column: str
    rule: str
    bad: pl.Expr
    key: bool = False  # rows breaking it are left out of the uniqueness check
    per_value: bool = False


@dataclass(frozen=True)
class _UniqueKey:
    """Rows must be unique on ``columns``, each compared exactly or, when it has a ``folds``
    expression (of ``pl.col(column)``), after folding. Rows that break a ``key`` check (an empty
    key part, say) are already reported and left out."""

    label: str  # e.g. "tenant_id, workload"
    columns: tuple[str, ...]  # raw columns; their text is shown as the offending value
    folds: dict[str, pl.Expr]


@dataclass(frozen=True)
class _Table:
    rel: str  # path relative to the data folder
    path: Path
    fmt: str  # "csv" or "parquet"


def _rel(*parts: str) -> str:
    return "/".join(parts)


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


def _find_table(data_dir: Path, stem: str) -> _Table | None:
    """The CSV or parquet file of a table (``stem`` relative to the data folder), if any."""
    csv = data_dir / f"{stem}.csv"
    pq = data_dir / f"{stem}.parquet"
    has_csv, has_pq = csv.is_file(), pq.is_file()
    if has_csv and has_pq:
        raise _file_error(stem, f"both {stem}.csv and {stem}.parquet exist; keep only one of them")
    if has_csv:
        return _Table(f"{stem}.csv", csv, "csv")
    if has_pq:
        return _Table(f"{stem}.parquet", pq, "parquet")
    return None


def _require_table(data_dir: Path, stem: str) -> _Table:
    table = _find_table(data_dir, stem)
    if table is None:
        raise _file_error(stem, f"missing file (expected {stem}.csv or .parquet)")
    return table


def _scan(table: _Table, columns: Sequence[str], *, row_index: bool = True) -> pl.LazyFrame:
    """A lazy frame of the required ``columns`` as text (plus the 1-based row number).

    Checks the header / schema only (cheap): a missing column, a column given twice or a
    parquet column of a type that is not plain data is an error naming the file and column.
    """
    ri = _ROW if row_index else None
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
    header = _one_line(", ".join(repr(c) for c in schema if c != _ROW), 160)
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
    return lf.select(*([pl.col(_ROW)] if row_index else []), *exprs)


def _collect(frames: Sequence[tuple[_Table, pl.LazyFrame]]) -> list[pl.DataFrame]:
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


def _plan(
    lf: pl.LazyFrame,
    parsed: dict[str, pl.Expr],
    checks: Sequence[_Check],
    extra: dict[str, pl.Expr] | None = None,
) -> pl.LazyFrame:
    """Add the parsed columns and one boolean per row-level check (collected in one go)."""
    flags = {f"__bad{i}": c.bad.fill_null(False) for i, c in enumerate(checks) if not c.per_value}
    return lf.with_columns(**parsed).with_columns(**flags, **(extra or {}))


def _shorten(value: str | None) -> str:
    if value is None:
        return ""
    return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + "..."


class _Distinct:
    """The distinct values of a collected frame's columns, computed once each."""

    def __init__(self, df: pl.DataFrame):
        self.df = df
        self._values: dict[str, pl.Series] = {}

    def __call__(self, col: str) -> pl.Series:
        if col not in self._values:
            self._values[col] = self.df.get_column(col).unique()
        return self._values[col]

    def where(self, col: str, expr: pl.Expr) -> pl.Series:
        """The distinct values of ``col`` for which ``expr`` (of ``pl.col(col)``) is True."""
        values = self(col)
        return values.to_frame().filter(expr.fill_null(False)).get_column(col)

    def mapped(self, col: str, expr: pl.Expr) -> pl.Series | None:
        """``expr`` applied to every row through the distinct values (``None``: no change)."""
        values = self(col).drop_nulls()
        new = values.to_frame().select(expr).to_series()
        if new.equals(values, check_names=False, check_dtypes=False):
            return None
        return self.df.get_column(col).replace_strict(values, new, default=None)


def _flags(df: pl.DataFrame, checks: Sequence[_Check], distinct: _Distinct) -> list[pl.Series]:
    """One boolean series per check (row-level ones were computed by the plan)."""
    out = []
    for i, check in enumerate(checks):
        if not check.per_value:
            out.append(df.get_column(f"__bad{i}"))
            continue
        bad = distinct.where(check.column, check.bad)
        if bad.is_empty():
            out.append(pl.repeat(False, df.height, dtype=pl.Boolean, eager=True))
        else:
            out.append(df.get_column(check.column).is_in(bad.implode(), nulls_equal=True))
    return out


def _validate(
    df: pl.DataFrame, rel: str, checks: Sequence[_Check], unique: _UniqueKey | None
) -> tuple[list[Problem], int]:
    """The problems of a collected plan: the first few per rule (row order) and the count."""
    distinct = _Distinct(df)
    flags = _flags(df, checks, distinct)
    counts = [int(f.sum()) for f in flags]
    groups: list[list[Problem]] = []
    total = 0
    for check, flag, count in zip(checks, flags, counts, strict=True):
        if not count:
            continue
        total += count
        rows = df.select(_ROW, check.column).filter(flag).head(PER_RULE).rows()
        groups.append([Problem(rel, check.column, r, _shorten(v), check.rule) for r, v in rows])

    if unique is not None:
        key_flags = [f for c, f, n in zip(checks, flags, counts, strict=True) if c.key and n]
        dups = _duplicates(df, unique, distinct, key_flags)
        if dups.height:
            total += dups.height
            head = dups.head(PER_RULE)
            text = dict(
                df.select(_ROW, pl.concat_str(*unique.columns, separator=", "))
                .filter(pl.col(_ROW).is_in(head.get_column(_ROW).implode()))
                .rows()
            )
            groups.append(
                [
                    Problem(
                        rel,
                        unique.label,
                        r,
                        _shorten(text[r]),
                        f"duplicate key ({unique.label}) of row {first}",
                    )
                    for r, first in head.rows()
                ]
            )
    groups.sort(key=lambda g: g[0].row or 0)  # rules in the order of their first bad row
    return [p for g in groups for p in g], total


def _duplicates(df: pl.DataFrame, unique: _UniqueKey, distinct: _Distinct, key_flags: list[pl.Series]) -> pl.DataFrame:
    """Rows repeating the key of an earlier row: (row, first row with that key), in row order."""
    keys = []
    for col in unique.columns:
        fold = unique.folds.get(col)
        if fold is not None:
            values = distinct(col).drop_nulls()
            folded = values.to_frame().select(fold).to_series()
            if folded.n_unique() != values.len():  # two spellings of one key: compare folded
                keys.append(df.get_column(col).replace_strict(values, folded, default=None))
                continue
        keys.append(df.get_column(col))  # folding changes nothing here: compare as written
    frame = pl.DataFrame({f"__k{i}": k for i, k in enumerate(keys)}).with_columns(df.get_column(_ROW))
    if key_flags:
        frame = frame.filter(~reduce(operator.or_, key_flags))
    key_cols = [f"__k{i}" for i in range(len(keys))]
    if frame.select(pl.struct(key_cols).hash().n_unique()).item() == frame.height:
        return pl.DataFrame(schema={_ROW: pl.UInt32, "__first": pl.UInt32})
    # a duplicate (or, very rarely, a hash collision): find the repeats exactly
    return (
        frame.lazy()
        .with_columns(__first=pl.col(_ROW).min().over(key_cols))
        .filter(pl.col(_ROW) != pl.col("__first"))
        .select(_ROW, "__first")
        .sort(_ROW)
        .collect()
    )


def _raise_if(problems: list[Problem], total: int) -> None:
    if total:
        raise InputError(problems, total, max_shown=max(len(problems), 1))


def _merge_errors(errors: Sequence[InputError]) -> InputError:
    problems = [p for e in errors for p in e.problems]
    total = sum(e.total for e in errors)
    return InputError(problems, total, max_shown=max(len(problems), 1))


def _nonempty(col: str, *, key: bool = False) -> _Check:
    return _Check(col, "must not be empty", _blank(col), key)


def _count_checks(col: str) -> list[_Check]:
    """``col`` parsed into ``__<col>`` must be an integer >= 0 (two rules, two messages)."""
    value = pl.col(f"__{col}")
    return [
        _Check(col, "must be an integer", value.is_null()),
        _Check(col, "must be an integer >= 0", value < 0),
    ]


# ---- public API --------------------------------------------------------------------------------


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
        m = _MONTH_NAME.match(entry.name)
        if m is None:
            bad.append(
                Problem(
                    _rel(MONTHS_DIR, entry.name),
                    None,
                    None,
                    None,
                    "month folder name must be YYYY-MM (e.g. 2024-06)",
                )
            )
        else:
            months.append(dt.date(int(m.group(1)), int(m.group(2)), 1))
    if bad:
        bad.sort(key=lambda p: p.file)
        raise InputError(bad, max_shown=len(bad))
    return sorted(months)


def read_partners(data_dir: str | Path) -> pl.DataFrame:
    """``partners`` (PARTNERS_SCHEMA); empty when the table is absent."""
    table = _find_table(Path(data_dir), PARTNERS)
    if table is None:
        return pl.DataFrame(schema=PARTNERS_SCHEMA)
    lf = _scan(table, list(PARTNERS_SCHEMA))
    checks = [_nonempty("partner_id", key=True)]
    unique = _UniqueKey("partner_id", ("partner_id",), {})
    (df,) = _collect([(table, _plan(lf, {}, checks))])
    _raise_if(*_validate(df, table.rel, checks, unique))
    return df.select(
        pl.col("partner_id"),
        pl.when(_blank("partner_name")).then(None).otherwise(pl.col("partner_name")).alias("partner_name"),
    )


def read_certifications(data_dir: str | Path) -> pl.DataFrame:
    """``certifications`` (CERTIFICATIONS_SCHEMA); empty when the table is absent."""
    table = _find_table(Path(data_dir), CERTIFICATIONS)
    if table is None:
        return pl.DataFrame(schema=CERTIFICATIONS_SCHEMA)
    lf = _scan(table, list(CERTIFICATIONS_SCHEMA))
    parsed = {"__earned_on": _date("earned_on"), "__expires_on": _date("expires_on")}
    earned, expires = pl.col("__earned_on"), pl.col("__expires_on")
    checks = [
        _nonempty("partner_id"),
        _nonempty("person_id"),
        _Check("earned_on", "must be a date YYYY-MM-DD", earned.is_null()),
        _Check(
            "expires_on",
            "must be empty or a date YYYY-MM-DD",
            expires.is_null() & ~_blank("expires_on"),
        ),
        _Check("expires_on", "must be after earned_on", expires <= earned),
    ]
    (df,) = _collect([(table, _plan(lf, parsed, checks))])
    _raise_if(*_validate(df, table.rel, checks, None))
    return df.select(
        "partner_id",
        "person_id",
        "certification",
        earned.alias("earned_on"),
        expires.alias("expires_on"),
    )


_WORKLOAD_EMPTY = _Check(
    "workload", "must not be empty", _fold("workload").fill_null("") == "", key=True, per_value=True
)


def _usage_plan(table: _Table, month: dt.date) -> tuple[pl.LazyFrame, list[_Check], _UniqueKey]:
    lf = _scan(table, [c for c in USAGE_SCHEMA if c != "month"])
    parsed = {"__paid_seats": _int("paid_seats"), "__active_users": _int("active_users")}
    checks = [
        _nonempty("tenant_id", key=True),
        _WORKLOAD_EMPTY,
        *_count_checks("paid_seats"),
        *_count_checks("active_users"),
    ]
    unique = _UniqueKey("tenant_id, workload", ("tenant_id", "workload"), {"workload": _fold("workload")})
    extra = {"__over": pl.col("__active_users") > pl.col("__paid_seats")}
    return _plan(lf, parsed, checks, extra), checks, unique


def _associations_plan(table: _Table, month: dt.date) -> tuple[pl.LazyFrame, list[_Check], _UniqueKey]:
    lf = _scan(table, [c for c in ASSOCIATIONS_SCHEMA if c != "month"])
    end = month_end(month)
    # the date is parsed on every row (Polars caches repeated values); its format is checked
    # on the distinct values below
    parsed = {"__associated_on": pl.col("associated_on").str.to_date(_DATE_FORMAT, strict=False)}
    on = _date("associated_on")
    checks = [
        _nonempty("partner_id", key=True),
        _nonempty("tenant_id", key=True),
        _WORKLOAD_EMPTY,
        _Check(
            "association_type",
            "must be one of " + ", ".join(ASSOCIATION_TYPES) + " (any case)",
            ~_canonical_type("association_type").is_in(ASSOCIATION_TYPES).fill_null(False),
            key=True,
            per_value=True,
        ),
        _Check("associated_on", "must be a date YYYY-MM-DD", on.is_null(), per_value=True),
        _Check(
            "associated_on",
            f"must be on or before the month's end ({end})",
            on > end,
            per_value=True,
        ),
    ]
    unique = _UniqueKey(
        "partner_id, tenant_id, workload, association_type",
        ("partner_id", "tenant_id", "workload", "association_type"),
        {"workload": _fold("workload"), "association_type": _canonical_type("association_type")},
    )
    return _plan(lf, parsed, checks), checks, unique


def _month_tables(data_dir: Path, month: dt.date) -> tuple[_Table, _Table]:
    """The month's two files (cheap: file system only); errors name what is missing."""
    folder = _rel(MONTHS_DIR, f"{month:%Y-%m}")
    if not (data_dir / folder).is_dir():
        raise MissingSnapshotError([month])
    errors, tables = [], []
    for stem in (USAGE, ASSOCIATIONS):
        try:
            tables.append(_require_table(data_dir, _rel(folder, stem)))
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise _merge_errors(errors)
    return tables[0], tables[1]


def _read_month(data_dir: Path, month: dt.date, tables: tuple[_Table, _Table]) -> Snapshots:
    """Read and validate both files of a month (together); every problem of both is raised."""
    usage_t, assoc_t = tables
    errors: list[InputError] = []
    plans = []
    for table, planner in ((usage_t, _usage_plan), (assoc_t, _associations_plan)):
        try:
            plans.append((table, *planner(table, month)))
        except InputError as exc:  # bad header: the other file is still validated
            errors.append(exc)

    frames = _collect([(t, lf) for t, lf, _, _ in plans]) if plans else []
    for (table, _, checks, unique), df in zip(plans, frames, strict=True):
        problems, total = _validate(df, table.rel, checks, unique)
        if total:
            errors.append(InputError(problems, total))
    if errors:
        raise _merge_errors(errors)

    usage_df, assoc_df = frames
    month_lit = pl.lit(month, dtype=pl.Date).alias("month")
    warnings = []
    n_over = usage_df["__over"].sum()
    if n_over:
        examples = "; ".join(
            f"row {r}: tenant {t!r}, workload {w!r}, active_users {a} > paid_seats {p}"
            for r, t, w, a, p, _ in usage_df.select(
                _ROW, "tenant_id", "workload", "__active_users", "__paid_seats", "__over"
            )
            .filter(pl.col("__over"))
            .head(WARNING_EXAMPLES)
            .rows()
        )
        warnings.append(
            f"{usage_t.rel}: {n_over} row{'s' if n_over != 1 else ''} with "
            f"active_users > paid_seats (allowed), e.g. {examples}"
        )
    usage = usage_df.select(
        month_lit,
        "tenant_id",
        "workload",
        pl.col("__paid_seats").alias("paid_seats"),
        pl.col("__active_users").alias("active_users"),
    )
    types = _Distinct(assoc_df).mapped("association_type", _canonical_type("association_type"))
    associations = assoc_df.select(
        month_lit,
        "partner_id",
        "tenant_id",
        "workload",
        pl.col("association_type") if types is None else pl.lit(types).alias("association_type"),
        pl.col("__associated_on").alias("associated_on"),
    )
    return Snapshots(frozenset([month]), usage, associations, warnings)


def read_month(data_dir: str | Path, month: dt.date) -> Snapshots:
    """One month's snapshot (``months/YYYY-MM``), validated; both files are required."""
    data_dir = Path(data_dir)
    month = month.replace(day=1)
    return _read_month(data_dir, month, _month_tables(data_dir, month))


def _empty_snapshots() -> Snapshots:
    return Snapshots(frozenset(), pl.DataFrame(schema=USAGE_SCHEMA), pl.DataFrame(schema=ASSOCIATIONS_SCHEMA))


def read_snapshots(
    data_dir: str | Path,
    months: Iterable[dt.date],
    *,
    progress: Callable[[str], None] | None = None,
    needed_by: str = "",
    max_workers: int = 2,
) -> Snapshots:
    """The snapshots of ``months`` (each read once), stacked in month order.

    See ``iter_snapshots``; this holds every month in memory at once.
    """
    parts = list(iter_snapshots(data_dir, months, progress=progress, needed_by=needed_by, max_workers=max_workers))
    if not parts:
        return _empty_snapshots()
    return Snapshots(
        frozenset(m for p in parts for m in p.months),
        pl.concat([p.usage for p in parts], how="vertical", rechunk=False),
        pl.concat([p.associations for p in parts], how="vertical", rechunk=False),
        [w for p in parts for w in p.warnings],
    )


def iter_snapshots(
    data_dir: str | Path,
    months: Iterable[dt.date],
    *,
    progress: Callable[[str], None] | None = None,
    needed_by: str = "",
    max_workers: int = 2,
) -> Iterator[Snapshots]:
    """The snapshot of each of ``months``, validated, one at a time in month order.

    Every month folder and file is checked to exist before any file is read: missing month
    folders raise :class:`MissingSnapshotError` (naming all of them and ``needed_by``). A bad
    month raises its ``InputError`` when its turn comes. ``progress`` is called with a short
    line after each month is read. Up to ``max_workers`` months are read ahead at the same time
    (each read is itself multi-threaded by Polars); at most that many unconsumed months are
    held in memory.
    """
    data_dir = Path(data_dir)
    wanted = sorted({m.replace(day=1) for m in months})
    if not wanted:
        return iter(())
    missing = [m for m in wanted if not (data_dir / MONTHS_DIR / f"{m:%Y-%m}").is_dir()]
    if missing:
        raise MissingSnapshotError(missing, needed_by=needed_by)
    tables = {m: _month_tables(data_dir, m) for m in wanted}
    return _stream_months(data_dir, tables, progress, max_workers)


def _stream_months(
    data_dir: Path,
    tables: dict[dt.date, tuple[_Table, _Table]],
    progress: Callable[[str], None] | None,
    max_workers: int,
) -> Iterator[Snapshots]:
    wanted = sorted(tables)

    def report(snap: Snapshots, i: int) -> Snapshots:
        if progress is not None:
            (m,) = snap.months
            progress(
                f"read {MONTHS_DIR}/{m:%Y-%m}: {snap.usage.height} usage rows, "
                f"{snap.associations.height} associations ({i}/{len(wanted)})"
            )
        return snap

    workers = max(1, min(max_workers, len(wanted)))
    if workers == 1:
        for i, m in enumerate(wanted, 1):
            yield report(_read_month(data_dir, m, tables[m]), i)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pcs-ingest") as pool:
        pending = deque(pool.submit(_read_month, data_dir, m, tables[m]) for m in wanted[:workers])
        ahead = iter(wanted[workers:])
        try:
            for i in range(1, len(wanted) + 1):
                snap = pending.popleft().result()
                nxt = next(ahead, None)
                if nxt is not None:
                    pending.append(pool.submit(_read_month, data_dir, nxt, tables[nxt]))
                yield report(snap, i)
        finally:  # a failure or an abandoned generator: months not yet started are not read
            for fut in pending:
                fut.cancel()


def known_partner_ids(
    data_dir: str | Path,
    *,
    partners: pl.DataFrame | None = None,
    certifications: pl.DataFrame | None = None,
) -> pl.Series:
    """Every partner known to the data, sorted: partners, all months' associations, and
    certifications. Only the ``partner_id`` column of the association files is read; the
    partners and certifications files are read unless given (as ``read_partners`` /
    ``read_certifications`` return them)."""
    data_dir = Path(data_dir)
    partners = read_partners(data_dir) if partners is None else partners
    certifications = read_certifications(data_dir) if certifications is None else certifications
    ids = [partners["partner_id"], certifications["partner_id"]]

    frames: list[tuple[_Table, pl.LazyFrame]] = []
    errors: list[InputError] = []
    for month in list_months(data_dir):
        stem = _rel(MONTHS_DIR, f"{month:%Y-%m}", ASSOCIATIONS)
        try:
            table = _require_table(data_dir, stem)
            lf = _scan(table, ["partner_id"], row_index=False)
        except InputError as exc:
            errors.append(exc)
            continue
        frames.append((table, lf.filter(~_blank("partner_id")).unique()))
    if errors:
        raise _merge_errors(errors)
    if frames:
        ids.extend(df["partner_id"] for df in _collect(frames))
    return pl.concat([s.cast(pl.String) for s in ids], how="vertical").unique().sort().rename("partner_id")
