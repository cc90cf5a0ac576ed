"""Writing the data folder: its output columns (the ``scoring.frames`` input schemas; a month
file has no month column), appending sinks for CSV and Parquet files, clearing the folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from scoring import frames as F

PARTNERS_COLUMNS = F.PARTNERS_SCHEMA
CERTIFICATIONS_COLUMNS = F.CERTIFICATIONS_SCHEMA
USAGE_COLUMNS = {c: t for c, t in F.USAGE_SCHEMA.items() if c != "month"}
ASSOCIATIONS_COLUMNS = {c: t for c, t in F.ASSOCIATIONS_SCHEMA.items() if c != "month"}


class TableSink:
    """Appends frames to one CSV or Parquet file; the file exists (with its header) once closed."""

    def __init__(self, path: Path, fmt: str, columns: dict[str, pl.DataType]) -> None:
        self.path, self.fmt, self.columns = path, fmt, columns
        self.rows = 0
        self._empty = pl.DataFrame(schema=columns)
        if fmt == "csv":
            self._fh = open(path, "wb")  # noqa: SIM115 (closed by close(), after many writes)
            self._header = True
        else:
            self._pw = pq.ParquetWriter(path, self._empty.to_arrow().schema, compression="zstd")

    def write(self, df: pl.DataFrame) -> None:
        if df.height == 0:
            return
        df = df.select([pl.col(c).cast(t) for c, t in self.columns.items()])
        self.rows += df.height
        if self.fmt == "csv":
            df.write_csv(self._fh, include_header=self._header)
            self._header = False
        else:
            self._pw.write_table(df.to_arrow())

    def close(self) -> int:
        """Closes the file and returns its size in bytes."""
        if self.fmt == "csv":
            if self._header:
                self._empty.write_csv(self._fh)
            self._fh.close()
        else:
            self._pw.close()
        return self.path.stat().st_size


def prepare_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is not a directory")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty (pass overwrite=True to replace its data)")
        for name in ("partners", "certifications"):
            for ext in ("csv", "parquet"):
                (out / f"{name}.{ext}").unlink(missing_ok=True)
        if (out / "months").exists():
            shutil.rmtree(out / "months")
    out.mkdir(parents=True, exist_ok=True)
