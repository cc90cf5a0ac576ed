"""``pcs generate``, ``pcs score`` and ``pcs migrate`` through ``pcs.cli.main`` (and the
installed ``pcs`` script once). ``pcs backfill`` is tested with the pipeline (test_pipeline.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pcs import cli
from storage import migrate
from storage.engines import dispose_engines
from tests.support.inputs import EXAMPLE

EXPECTED_SCORECARDS = EXAMPLE.parent / "expected-scorecards.json"
needs_example = pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is not beside the project")


def test_generate_then_score_the_generated_folder(tmp_path, capsys):
    out = tmp_path / "gen"
    args = ["generate", "--out", str(out), "--partners", "25", "--months", "14", "--seed", "3"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "month 2024-02:" in printed and f"wrote {out}: 25 partners" in printed
    assert sorted(p.name for p in (out / "months").iterdir())[-1] == "2024-02"
    assert (out / "months" / "2024-02" / "workload_usage.csv").is_file()

    assert cli.main(args) == 2  # not empty
    assert "is not empty (pass --overwrite" in capsys.readouterr().err
    assert cli.main([*args, "--overwrite", "--format", "parquet"]) == 0
    capsys.readouterr()
    assert (out / "months" / "2024-02" / "workload_usage.parquet").is_file()
    assert not (out / "months" / "2024-02" / "workload_usage.csv").exists()

    cards = tmp_path / "cards.json"
    assert cli.main(["score", "--from", "2024-02", "--data", str(out), "--json", str(cards)]) == 0
    captured = capsys.readouterr()
    assert "2024-02" in captured.out and "attained" in captured.out
    assert "read months/2023-02" in captured.err
    scored = json.loads(cards.read_text())
    assert {c["month"] for c in scored} == {"2024-02"}
    assert len(scored) >= 25  # the listed partners, plus partners only seen in the data


@needs_example
def test_score_the_example_year_matches_the_expected_scorecards(tmp_path, capsys):
    cards = tmp_path / "cards.json"
    code = cli.main(["score", "--from", "2024-01", "--to", "2024-12", "--data", str(EXAMPLE), "--json", str(cards)])
    assert code == 0
    out = capsys.readouterr().out
    assert "2024-01" in out and "2024-12" in out and "SMB qualifying" in out
    got = json.loads(cards.read_text())
    want = json.loads(EXPECTED_SCORECARDS.read_text())
    assert len(got) == len(want) == 360
    assert sum(c["attained"] for c in got) == sum(c["attained"] for c in want) == 8
    # written a month at a time, the same bytes as one json.dumps of the whole list; and to stdout
    assert cards.read_text() == json.dumps(got, indent=1) + "\n"
    assert cli.main(["score", "--from", "2024-01", "--to", "2024-12", "--data", str(EXAMPLE), "--json", "-"]) == 0
    assert capsys.readouterr().out.endswith(cards.read_text())


@needs_example
def test_score_reports_bad_input_and_bad_arguments(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    partners = data / "partners.csv"
    partners.chmod(0o644)
    partners.write_text(partners.read_text() + "P000001,Duplicate\n")
    assert cli.main(["score", "--from", "2024-06", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "partners.csv, column 'partner_id'" in err and "P000001" in err

    # with --json: the file that was there stays as it was, and no partial file is left beside it
    cards = tmp_path / "cards.json"
    cards.write_text("earlier\n")
    assert cli.main(["score", "--from", "2024-06", "--data", str(data), "--json", str(cards)]) == 1
    assert cards.read_text() == "earlier\n" and sorted(tmp_path.iterdir()) == [cards, data]
    capsys.readouterr()

    assert cli.main(["score", "--from", "2024-13", "--data", str(data)]) == 2
    assert "--from must be YYYY-MM" in capsys.readouterr().err
    assert cli.main(["score", "--from", "2024-06", "--to", "2024-01"]) == 2


def test_migrate_creates_the_schema_and_is_idempotent(empty_db_url, capsys):
    try:
        assert cli.main(["migrate", "--database", empty_db_url]) == 0
        assert f"migrated (empty) -> {migrate.head()}" in capsys.readouterr().out
        assert migrate.is_current(empty_db_url)
        assert cli.main(["migrate", "--database", empty_db_url]) == 0
        assert f"already at revision {migrate.head()}" in capsys.readouterr().out
    finally:
        dispose_engines(empty_db_url)


def test_migrate_reports_an_unreachable_database(capsys):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    assert cli.main(["migrate", "--database", url]) == 1
    assert "pcs migrate: postgresql+psycopg://nobody@127.0.0.1:1/none" in capsys.readouterr().err


def test_pcs_console_script(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    pcs = Path(sys.executable).parent / "pcs"
    proc = subprocess.run([str(pcs), "migrate", "--database", url], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "migrated" in proc.stdout
    helped = subprocess.run([str(pcs), "--help"], capture_output=True, text=True, timeout=60)
    assert all(c in helped.stdout for c in ("generate", "score", "backfill", "migrate"))
