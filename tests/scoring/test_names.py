"""One name fold (``scoring.names.fold``) for rulebook, ingest, engine and simulator, also
outside ASCII: "Straße" and "STRASSE" are one name, as ``str.casefold`` says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from scoring import ingest
from scoring import simulate as sim
from scoring.frames import CERTIFICATIONS_SCHEMA, InputError
from scoring.names import canonical, fold, fold_column
from scoring.rulebook import DEFAULT_RULEBOOK_PATH, RulebookError, Rulebooks, load_rulebooks
from tests.support.builders import World

JUNE = dt.date(2024, 6, 1)


def test_fold_trims_and_case_folds_beyond_ascii():
    assert fold("  Straße ") == fold("STRASSE") == "strasse"
    assert fold("ΟΔΟΣ") == fold("οδος")
    assert fold("İstanbul") == fold("i\u0307stanbul")
    assert fold_column(pl.Series(["Straße", None, "STRASSE"])).to_list() == ["strasse", None, "strasse"]
    frame = pl.DataFrame({"name": ["STRASSE", "other", None]})
    mapped = frame.select(canonical("name", frame, {"strasse": "Straße"}))
    assert mapped["name"].to_list() == ["Straße", None, None]


def _rulebook(tmp_path: Path, *, workloads: str = '"Straße"', types: str = 'STRASSE = "CPOR"') -> Rulebooks:
    """The real rulebook plus a non-ASCII workload, association type and certification."""
    text = DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8")
    text = text.replace('"VivaConnections",', f'"VivaConnections", {workloads},', 1)
    text = text.replace('CSP_T2 = "CSP"', f'CSP_T2 = "CSP"\n{types}', 1)
    text = text.replace('"Microsoft 365 Fundamentals",', '"Microsoft 365 Fundamentals", "Straße Fundamentals",', 1)
    path = tmp_path / "rulebook.toml"
    path.write_text(text, encoding="utf-8")
    return load_rulebooks(path)


def test_rulebook_names_repeat_after_folding(tmp_path: Path):
    with pytest.raises(RulebookError, match="a name repeats"):
        _rulebook(tmp_path, workloads='"Straße", "STRASSE"')


def _month(data: Path, usage: list[str], associations: list[str]) -> Path:
    folder = data / "months" / "2024-06"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workload_usage.csv").write_text(
        "\n".join(["tenant_id,workload,paid_seats,active_users", *usage]) + "\n", encoding="utf-8"
    )
    (folder / "associations.csv").write_text(
        "\n".join(["partner_id,tenant_id,workload,association_type,associated_on", *associations]) + "\n",
        encoding="utf-8",
    )
    return data


def test_ingest_compares_workloads_folded(tmp_path: Path):
    data = _month(tmp_path, ["T1,Straße,400,200", "T1,STRASSE,10,1"], ["P1,T1,Straße,CPOR,2024-06-01"])
    with pytest.raises(InputError) as info:
        ingest.read_month(data, JUNE)
    (problem,) = info.value.problems
    assert (problem.column, problem.row, problem.rule) == (
        "tenant_id, workload",
        2,
        "duplicate key (tenant_id, workload) of row 1",
    )


def test_ingest_accepts_the_association_types_of_the_rulebooks_folded(tmp_path: Path):
    books = _rulebook(tmp_path)
    data = _month(tmp_path / "data", ["T1,Straße,400,200"], ["P1,T1,Straße,straße,2024-06-01"])
    assoc = ingest.read_month(data, JUNE, rulebooks=books).associations
    assert assoc["association_type"].to_list() == ["STRASSE"]  # as the rulebook spells it
    with pytest.raises(InputError, match=r"must be one of CPOR, DPOR, CSP_T1, CSP_T2 \(any case\)"):
        ingest.read_month(data, JUNE)  # not a type of the default rulebook


def test_engine_matches_workloads_types_and_certifications_folded(tmp_path: Path):
    w = World(rulebooks=_rulebook(tmp_path))
    w.use(w.scored, "T1", "STRASSE", 400, 200).assoc(w.scored, "P1", "T1", "strasse", "Straße", "2020-01-01")
    w.cert("P1", "person-1", "STRASSE FUNDAMENTALS").cert("P1", "person-2", " Straße Fundamentals")
    r = w.score()
    assert r.eligible("T1") == {"ENTERPRISE"}
    holding = r.res.holdings.row(0, named=True)
    assert (holding["workload"], holding["option"]) == ("Straße", "CPOR")
    assert r.metric("P1", "ENTERPRISE", "NET_CUSTOMER_ADDS")["current"] == 1
    assert r.metric("P1", "ENTERPRISE", "INTERMEDIATE_CERTIFICATIONS")["value"] == 2


def test_simulator_finds_workloads_and_certifications_folded(tmp_path: Path):
    books = _rulebook(tmp_path)
    w = World(rulebooks=books)
    w.use(w.scored, "T1", "STRASSE", 400, 200).assoc(w.scored, "P1", "T1", "Straße", "CPOR", "2020-01-01")
    w.cert("P1", "person-1", "STRASSE FUNDAMENTALS")
    inputs = sim.PartnerInputs(w.snapshots(), pl.DataFrame(w.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row"))
    changes: list[sim.Change] = [
        sim.ChangeActiveUsers("T1", "straße", 50),
        sim.RemoveCertifiedPersons("INTERMEDIATE", 1),
    ]
    changed = sim.apply_changes(books.for_month(JUNE), "P1", JUNE, inputs, changes)
    assert changed.snapshots.usage.select("workload", "active_users").rows() == [("STRASSE", 50)]
    assert changed.certifications.is_empty()
