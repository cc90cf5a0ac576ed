"""What handing a month to a writer child process would cost (write_paths.md section 5): the
prepared frames written as Arrow IPC files, and a new Python that imports the ADBC driver and
reads them back. Needs adbc-driver-sqlite and the cached month of ``write_paths.py --cache``
(``.venv/bin/python benchmarks/adbc_child_cost.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import polars as pl
import pyarrow.ipc as ipc

from storage.results import RESULTS

CACHE = "/tmp/writes-bench/month"
CHILD = """
import sys, time; t = time.perf_counter()
import pyarrow.ipc as ipc, adbc_driver_sqlite.dbapi
tables = [ipc.open_file(f"{sys.argv[1]}/{name}.arrow").read_all() for name in sys.argv[2:]]
print(f"  child import + read {time.perf_counter() - t:.2f} s")
"""


def main(runs: int = 3) -> None:
    frames = {n: pl.read_parquet(f"{CACHE}/{n}.parquet").sort(list(RESULTS[n].natural_key)) for n in RESULTS}
    print(f"rows {sum(df.height for df in frames.values()):,}")
    for run in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            for name, df in frames.items():
                table = df.to_arrow()
                with ipc.new_file(f"{folder}/{name}.arrow", table.schema) as writer:
                    writer.write_table(table)
            t1 = time.perf_counter()
            subprocess.run([sys.executable, "-c", CHILD, folder, *frames], check=True)
            t2 = time.perf_counter()
            mb = sum(os.path.getsize(f"{folder}/{n}.arrow") for n in frames) / 1e6
            print(
                f"run {run + 1}: IPC write {t1 - t0:.2f} s ({mb:.0f} MB), child {t2 - t1:.2f} s, in all {t2 - t0:.2f} s"
            )


if __name__ == "__main__":
    main()
