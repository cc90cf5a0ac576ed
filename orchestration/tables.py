"""Markdown tables of Polars frames: the run metadata's tables and the command line's (``pcs token
list``, the demo). No Dagster here, so the command line can use it without importing Dagster."""

from __future__ import annotations

import polars as pl


def markdown(df: pl.DataFrame, *, rows: int = 40, text_width: int = 120) -> str:
    """The first ``rows`` rows of ``df`` as a Markdown table, text cut at ``text_width`` characters
    (Polars has no ``to_markdown``: pola-rs/polars#13907)."""
    with pl.Config(
        tbl_formatting="ASCII_MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=rows,
        tbl_cols=-1,
        tbl_width_chars=400,
        fmt_str_lengths=text_width,
    ):
        return str(df.head(rows))
