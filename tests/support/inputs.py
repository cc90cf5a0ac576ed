"""Input data folders for tests: the shared example folder (and a writable copy), the spec's
headers and file names, and writers for CSV cases."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

from tests.support.paths import EXAMPLE_DATA

EXAMPLE = EXAMPLE_DATA  # the example data folder (snapshots 2023-01..2024-12)
MAY, JUN = dt.date(2024, 5, 1), dt.date(2024, 6, 1)

USAGE_FILE = "months/2024-06/workload_usage.csv"
ASSOC_FILE = "months/2024-06/associations.csv"

USAGE_HEADER = ["tenant_id", "workload", "paid_seats", "active_users"]
ASSOC_HEADER = ["partner_id", "tenant_id", "workload", "association_type", "associated_on"]
PARTNERS_HEADER = ["partner_id", "partner_name"]
CERTS_HEADER = ["partner_id", "person_id", "certification", "earned_on", "expires_on"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def set_cell(rows: list[list[str]], header: list[str], row: int, column: str, value: str):
    rows[row - 1][header.index(column)] = value
    return rows


def copy_example(tmp_path: Path) -> Path:
    """A writable copy of the example data folder."""
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    for p in [data, *data.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return data


def edit_csv(path: Path, row: int, column: str, value: str) -> Path:
    """Set one cell of a CSV file (data row ``row``, 1-based; the header names the column)."""
    with path.open(encoding="utf-8", newline="") as f:
        header, *rows = csv.reader(f)
    return write_csv(path, header, set_cell(rows, header, row, column, value))
