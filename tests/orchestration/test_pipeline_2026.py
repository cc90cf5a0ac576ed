"""The pipeline across the 2026 revision: `pcs backfill` over the 2026 example (months that run
ahead of the calendar) stores every expected scorecard, each month under its own version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.engine import ScoreResult
from scoring.scorecards import scorecards
from storage.engines import dispose_engines, get_engine
from storage.results import RESULTS, read_frame
from tests.support.dagster_runs import dagster_home
from tests.support.paths import EXAMPLE_2026, PROJECT_ROOT
from tests.support.scorecards import assert_close

pytestmark = pytest.mark.skipif(
    not EXAMPLE_2026.exists(), reason="shared/examples/small-2026 is not beside the project"
)


def test_pcs_backfill_across_the_revision_stores_the_expected_scorecards(tmp_path):
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PCS_", "DAGSTER_"))} | {
        "PCS_DATA_DIR": str(EXAMPLE_2026 / "data"),  # partitions reach its last month, 2027-07
        "PCS_START_MONTH": "2026-08",
        "PCS_DATABASE_URL": url,
        "DAGSTER_HOME": str(dagster_home(tmp_path)),
    }
    pcs = str(Path(sys.executable).parent / "pcs")
    proc = subprocess.run(
        [pcs, "backfill", "--from", "2026-08", "--to", "2027-07"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    engine = get_engine(url)
    try:
        stored = ScoreResult(**{name: read_frame(engine, name) for name in RESULTS})
        versions = read_frame(engine, "scored_months").sort("month")
    finally:
        dispose_engines(url)
    assert [(f"{m:%Y-%m}", v) for m, v in versions.select("month", "rulebook_id").iter_rows()][:2] == [
        ("2026-08", "2023-06-12"),
        ("2026-09", "2026-09"),
    ]
    assert set(versions["rulebook_id"][1:]) == {"2026-09"} and versions.height == 12

    got = {(c["partnerId"], c["month"]): c for c in scorecards(stored)}
    expected = json.loads((EXAMPLE_2026 / "expected-scorecards.json").read_text())
    assert len(got) == len(expected) == 360
    for want in expected:
        card = got[(want["partnerId"], want["month"])]
        assert_close({k: card[k] for k in want}, want, f"{want['partnerId']} {want['month']}")
