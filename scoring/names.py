"""How names (workloads, certifications, association types) are compared: one fold, everywhere.

``fold`` is the rule; ``fold_column`` and ``canonical`` apply it to Polars columns by folding each
distinct value in Python and mapping the rows back (names are few, rows are many).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl


def fold(name: str) -> str:
    """A name as compared: trimmed and case-folded (``"  Straße "`` and ``"STRASSE"`` are one)."""
    return name.strip().casefold()


def fold_column(values: pl.Series) -> pl.Series:
    """``values`` folded (nulls stay null), each distinct value folded once."""
    distinct = values.unique().drop_nulls().to_list()
    return values.replace_strict(distinct, [fold(v) for v in distinct], default=None, return_dtype=pl.String)


def canonical(col: str, frame: pl.DataFrame, mapping: Mapping[str, str], dtype: pl.DataType | None = None) -> pl.Expr:
    """``col`` of ``frame`` mapped through ``mapping`` (folded name -> canonical name).

    Names are folded once per distinct value, not once per row; unknown names become null.
    The result has ``dtype`` (by default text).
    """
    raw = frame.get_column(col).unique().drop_nulls().to_list()
    hits = [(r, mapping[fold(r)]) for r in raw if fold(r) in mapping]
    return pl.col(col).replace_strict(
        [r for r, _ in hits], [c for _, c in hits], default=None, return_dtype=dtype or pl.String
    )


def folded(col: str) -> pl.Expr:
    """``col`` folded, as an expression (each distinct value of a batch folded once)."""
    return pl.col(col).map_batches(fold_column, return_dtype=pl.String, is_elementwise=True)
