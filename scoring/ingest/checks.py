"""The validation framework: rules on columns, unique keys, and the report of what breaks them.

A plan adds the parsed columns and one flag per row-level rule; ``validate`` turns the collected
plan into the first few problems per rule (in row order) and their total count.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

import polars as pl

from scoring.frames import InputError, Problem

PER_RULE = 5  # problems kept per broken rule (the count covers all of them)
MAX_VALUE_CHARS = 200  # longer offending values are shortened in the report
ROW = "__row"  # the 1-based row number (cannot clash: only the required input columns are kept)

_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
DATE_FORMAT = "%Y-%m-%d"


# ---- expressions of the text columns ----------------------------------------------------------


def blank(col: str) -> pl.Expr:
    """True when the text is missing, empty or whitespace only."""
    c = pl.col(col)
    return c.is_null() | (c.str.strip_chars() == "")


def integer(col: str) -> pl.Expr:
    """The integer the text spells (optional sign and digits), else null."""
    return pl.col(col).str.to_integer(base=10, strict=False)


def date(col: str) -> pl.Expr:
    """The date the text spells as YYYY-MM-DD, else null."""
    c = pl.col(col)
    parsed = c.str.to_date(DATE_FORMAT, strict=False)
    return pl.when(c.str.contains(_DATE_TEXT)).then(parsed).otherwise(None)


# ---- rules -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
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
class UniqueKey:
    """Rows must be unique on ``columns``, each compared exactly or, when it has a ``folds``
    expression (of ``pl.col(column)``), after folding. Rows that break a ``key`` check (an empty
    key part, say) are already reported and left out."""

    label: str  # e.g. "tenant_id, workload"
    columns: tuple[str, ...]  # raw columns; their text is shown as the offending value
    folds: dict[str, pl.Expr]


def nonempty(col: str, *, key: bool = False, per_value: bool = False) -> Check:
    return Check(col, "must not be empty", blank(col), key, per_value)


def count_checks(col: str) -> list[Check]:
    """``col`` parsed into ``__<col>`` must be an integer >= 0 (two rules, two messages)."""
    value = pl.col(f"__{col}")
    return [
        Check(col, "must be an integer", value.is_null()),
        Check(col, "must be an integer >= 0", value < 0),
    ]


def plan(
    lf: pl.LazyFrame,
    parsed: dict[str, pl.Expr],
    checks: Sequence[Check],
    extra: dict[str, pl.Expr] | None = None,
) -> pl.LazyFrame:
    """Add the parsed columns and one boolean per row-level check (collected in one go)."""
    flags = {f"__bad{i}": c.bad.fill_null(False) for i, c in enumerate(checks) if not c.per_value}
    return lf.with_columns(**parsed).with_columns(**flags, **(extra or {}))


# ---- evaluating a collected plan ---------------------------------------------------------------


class Distinct:
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


def _shorten(value: str | None) -> str:
    if value is None:
        return ""
    return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + "..."


def _flags(df: pl.DataFrame, checks: Sequence[Check], distinct: Distinct) -> list[pl.Series]:
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


def validate(
    df: pl.DataFrame, rel: str, checks: Sequence[Check], unique: UniqueKey | None
) -> tuple[list[Problem], int]:
    """The problems of a collected plan: the first few per rule (row order) and the count."""
    distinct = Distinct(df)
    flags = _flags(df, checks, distinct)
    counts = [int(f.sum()) for f in flags]
    groups: list[list[Problem]] = []
    total = 0
    for check, flag, count in zip(checks, flags, counts, strict=True):
        if not count:
            continue
        total += count
        rows = df.select(ROW, check.column).filter(flag).head(PER_RULE).rows()
        groups.append([Problem(rel, check.column, r, _shorten(v), check.rule) for r, v in rows])

    if unique is not None:
        key_flags = [f for c, f, n in zip(checks, flags, counts, strict=True) if c.key and n]
        dups = _duplicates(df, unique, distinct, key_flags)
        if dups.height:
            total += dups.height
            head = dups.head(PER_RULE)
            text = dict(
                df.select(ROW, pl.concat_str(*unique.columns, separator=", "))
                .filter(pl.col(ROW).is_in(head.get_column(ROW).implode()))
                .rows()
            )
            groups.append(
                [
                    Problem(rel, unique.label, r, _shorten(text[r]), f"duplicate key ({unique.label}) of row {first}")
                    for r, first in head.rows()
                ]
            )
    groups.sort(key=lambda g: g[0].row or 0)  # rules in the order of their first bad row
    return [p for g in groups for p in g], total


def _duplicates(df: pl.DataFrame, unique: UniqueKey, distinct: Distinct, key_flags: list[pl.Series]) -> pl.DataFrame:
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
    frame = pl.DataFrame({f"__k{i}": k for i, k in enumerate(keys)}).with_columns(df.get_column(ROW))
    if key_flags:
        frame = frame.filter(~reduce(operator.or_, key_flags))
    key_cols = [f"__k{i}" for i in range(len(keys))]
    if frame.select(pl.struct(key_cols).hash().n_unique()).item() == frame.height:
        return pl.DataFrame(schema={ROW: pl.UInt32, "__first": pl.UInt32})
    # a duplicate (or, very rarely, a hash collision): find the repeats exactly
    return (
        frame.lazy()
        .with_columns(__first=pl.col(ROW).min().over(key_cols))
        .filter(pl.col(ROW) != pl.col("__first"))
        .select(ROW, "__first")
        .sort(ROW)
        .collect()
    )


def raise_if(problems: list[Problem], total: int) -> None:
    if total:
        raise InputError(problems, total, max_shown=max(len(problems), 1))


def merge_errors(errors: Sequence[InputError]) -> InputError:
    problems = [p for e in errors for p in e.problems]
    total = sum(e.total for e in errors)
    return InputError(problems, total, max_shown=max(len(problems), 1))
