"""The README's first command: the demo generates, scores through Dagster and summarises."""

from __future__ import annotations

import os
import subprocess
import sys

from pcs.settings import PROJECT_ROOT


def test_demo_generates_scores_and_prints_a_summary(tmp_path):
    env = {
        **os.environ,
        "PCS_DATA_DIR": str(tmp_path / "data"),
        "PCS_DATABASE_URL": f"sqlite:///{tmp_path / 'pcs.sqlite'}",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "PCS_ADMIN_TOKEN": "demo-admin-token",
    }
    out = subprocess.run(
        [sys.executable, "-m", "pcs.cli.demo"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "scored in" in text
    for heading in ("partners qualifying per track", "Closest misses", "Biggest movers", "pcs serve"):
        assert heading in text
    assert (tmp_path / "data" / "months" / "2024-12").is_dir()
    assert "Bearer demo-admin-token" in text
