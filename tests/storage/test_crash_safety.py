"""A writer killed with SIGKILL in the middle of writing a month leaves that month as it was,
and a rerun completes (real SQLite file and real PostgreSQL, a real process killed)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time

import polars as pl

from storage import results
from storage.engines import dispose_engines, get_engine
from tests.support.paths import PROJECT_ROOT
from tests.support.synthetic import synthetic_partners, synthetic_results

ROOT = PROJECT_ROOT
MONTH = dt.date(2024, 6, 1)

# The child rewrites MONTH with other data and stops for good in the middle of the bulk insert:
# after the month's rows were deleted and some tables inserted, inside the open transaction.
CHILD = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from pathlib import Path
    from storage import results
    from storage.engines import get_engine
    from storage.results import write
    from tests.support.synthetic import synthetic_partners, synthetic_results

    marker = Path(sys.argv[2])
    real = write._bulk_insert
    calls = []

    def stalling(conn, spec, df):
        real(conn, spec, df)
        calls.append(spec)
        if len(calls) == 3:
            marker.write_text("mid-write")
            time.sleep(600)

    write._bulk_insert = stalling
    frames = synthetic_results([dt.date(2024, 6, 1)], partners=40, tenants=120, seed=7)
    results.write_results(get_engine(sys.argv[1]), months=[dt.date(2024, 6, 1)], frames=frames,
                          partners=synthetic_partners(frames))
    """
)


def _snapshot(url: str) -> dict[str, pl.DataFrame]:
    eng = get_engine(url)
    return {name: results.read_frame(eng, name, months=[MONTH]) for name in results.RESULTS}


def test_sigkill_mid_write_leaves_the_month_and_rerun_completes(db_url, tmp_path):
    before_frames = synthetic_results([MONTH], partners=20, tenants=60, seed=1)
    results.write_results(
        get_engine(db_url), months=[MONTH], frames=before_frames, partners=synthetic_partners(before_frames)
    )
    before = _snapshot(db_url)
    dispose_engines(db_url)

    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(marker)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the writer ended before reaching the middle of its write"
            assert time.monotonic() < deadline, "the writer never reached the middle of its write"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    after = _snapshot(db_url)
    for name in before:
        assert after[name].equals(before[name]), name

    rerun_frames = synthetic_results([MONTH], partners=40, tenants=120, seed=7)
    written = results.write_results(
        get_engine(db_url), months=[MONTH], frames=rerun_frames, partners=synthetic_partners(rerun_frames)
    )
    assert written["designations"] == rerun_frames["designations"].height
    final = _snapshot(db_url)
    assert final["designations"].height == rerun_frames["designations"].height
    assert not final["designations"].equals(before["designations"])
