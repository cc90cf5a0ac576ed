"""How names (workloads, certifications, association types) are compared: one fold, everywhere.

``fold`` is the rule; ``fold_column`` and ``canonical`` apply it to Polars columns by folding each
distinct value in Python and mapping the rows back (names are few, rows are many);
``renamed_fold`` adds the workload renames (either name of a rename is one key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl


def fold(name: str) -> str:
    """A name as compared: trimmed and case-folded (``"  Straße "`` and ``"STRASSE"`` are one)."""
    return name.strip().casefold()


def renamed_fold(renames: Mapping[str, str]) -> Callable[[str], str]:
    """The key of a workload name: folded, and a renamed workload's old name replaced by its new
    one (``renames``: old -> new), so that either name of a rename is one key."""
    table = {fold(old): fold(new) for old, new in renames.items()}

    def key(name: str) -> str:
        folded_name = fold(name)
        return table.get(folded_name, folded_name)

    return key


def fold_column(values: pl.Series, key: Callable[[str], str] = fold) -> pl.Series:
    """``values`` folded by ``key`` (nulls stay null), each distinct value folded once."""
    distinct = values.unique().drop_nulls().to_list()
    return values.replace_strict(distinct, [key(v) for v in distinct], default=None, return_dtype=pl.String)


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


def folded(col: str, renames: Mapping[str, str] | None = None) -> pl.Expr:
    """``col`` folded, as an expression (each distinct value of a batch folded once); with
    ``renames`` (old -> new workload names), both names of a rename fold to one key."""
    key = renamed_fold(renames) if renames else fold
    return pl.col(col).map_batches(lambda s: fold_column(s, key), return_dtype=pl.String, is_elementwise=True)
