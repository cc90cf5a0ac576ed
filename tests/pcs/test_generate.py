"""The synthetic data generator: layout, determinism, the rules of input-data.md, and that the data
exercises the scoring rules (both bands, boundaries, new associations, CSP tier duplicates, ...)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pcs.generate import GenerateSummary, generate
from scoring import ingest
from scoring.calendar import add_months, format_month, month_end, parse_month
from scoring.rulebook import fold, load_rulebooks

PARTNERS, MONTHS, START = 30, 14, "2023-01"
MONTH_LABELS = [format_month(add_months(parse_month(START), i)) for i in range(MONTHS)]
RULEBOOK = load_rulebooks().versions[0]  # the version of the generator's default months
ELIGIBLE = {fold(w) for w in RULEBOOK.eligible_workloads}
TYPES = {t.upper() for t in RULEBOOK.association_types}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read(path: Path) -> pl.DataFrame:
    """A table as written: every column as text, an empty field as null."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path).select(pl.all().cast(pl.String))
    return pl.read_csv(path, infer_schema=False)


def _month_end(label: str) -> dt.date:
    return month_end(parse_month(label))


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("gen") / "data"
    messages: list[str] = []
    summary = generate(out, partners=PARTNERS, months=MONTHS, start=START, seed=0, progress=messages.append)
    assert messages and any("month 2024-02" in m for m in messages)
    return out, summary


@pytest.fixture(scope="module")
def tables(small) -> dict[str, pl.DataFrame]:
    out, _ = small
    usage = pl.concat(
        [_read(out / "months" / m / "workload_usage.csv").with_columns(month=pl.lit(m)) for m in MONTH_LABELS]
    )
    assoc = pl.concat(
        [_read(out / "months" / m / "associations.csv").with_columns(month=pl.lit(m)) for m in MONTH_LABELS]
    )
    return {
        "partners": _read(out / "partners.csv"),
        "certifications": _read(out / "certifications.csv"),
        "usage": usage.with_columns(
            wkey=pl.col("workload").str.strip_chars().str.to_lowercase(),
            paid_seats=pl.col("paid_seats").cast(pl.Int64),
            active_users=pl.col("active_users").cast(pl.Int64),
        ),
        "assoc": assoc.with_columns(
            wkey=pl.col("workload").str.strip_chars().str.to_lowercase(),
            tkey=pl.col("association_type").str.strip_chars().str.to_uppercase(),
            associated_on=pl.col("associated_on").str.to_date("%Y-%m-%d"),
            month_end=pl.col("month").map_elements(_month_end, return_dtype=pl.Date),
        ),
    }


# ---- layout and summary --------------------------------------------------------------------------


def test_layout_and_summary(small, tables):
    out, s = small
    assert sorted(p.name for p in out.iterdir()) == ["certifications.csv", "months", "partners.csv"]
    assert sorted(p.name for p in (out / "months").iterdir()) == MONTH_LABELS
    for m in MONTH_LABELS:
        assert sorted(p.name for p in (out / "months" / m).iterdir()) == ["associations.csv", "workload_usage.csv"]
    assert tables["partners"].columns == ["partner_id", "partner_name"]
    assert tables["certifications"].columns == ["partner_id", "person_id", "certification", "earned_on", "expires_on"]
    assert (out / "months" / "2023-01" / "workload_usage.csv").read_text().splitlines()[0] == (
        "tenant_id,workload,paid_seats,active_users"
    )
    assert (out / "months" / "2023-01" / "associations.csv").read_text().splitlines()[0] == (
        "partner_id,tenant_id,workload,association_type,associated_on"
    )
    assert s.partners == PARTNERS == tables["partners"].height
    assert s.months == MONTHS
    assert s.usage_rows == tables["usage"].height
    assert s.association_rows == tables["assoc"].height
    assert s.certification_rows == tables["certifications"].height
    assert s.tenants >= tables["usage"]["tenant_id"].n_unique() > PARTNERS
    assert s.bytes_written == sum(len(b) for b in _files(out).values())
    assert s.seconds > 0


# ---- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_chunking_does_not_matter(small, tmp_path):
    out, _ = small
    reference = _files(out)
    generate(tmp_path / "again", partners=PARTNERS, months=MONTHS, start=START, seed=0)
    assert _files(tmp_path / "again") == reference
    generate(tmp_path / "chunked", partners=PARTNERS, months=MONTHS, start=START, seed=0, chunk_partners=7)
    assert _files(tmp_path / "chunked") == reference


def test_another_seed_gives_other_data(small, tmp_path):
    out, _ = small
    reference = _files(out)
    generate(tmp_path / "other", partners=PARTNERS, months=MONTHS, start=START, seed=1)
    other = _files(tmp_path / "other")
    assert other.keys() == reference.keys()
    assert all(other[k] != reference[k] for k in reference)


# ---- the rules of input-data.md ------------------------------------------------------------------


def test_partners_rules(tables):
    p = tables["partners"]
    assert p["partner_id"].null_count() == 0
    assert p["partner_id"].is_unique().all()


def test_usage_rules(tables):
    u = tables["usage"]
    assert u["tenant_id"].null_count() == 0 and u["workload"].null_count() == 0
    assert (u["wkey"] != "").all()
    assert u["paid_seats"].min() >= 0 and u["active_users"].min() >= 0
    assert u.select(pl.struct("month", "tenant_id", "wkey").is_duplicated().sum()).item() == 0


def test_association_rules(tables):
    a = tables["assoc"]
    for col in ("partner_id", "tenant_id", "workload", "association_type", "associated_on"):
        assert a[col].null_count() == 0, col
    assert set(a["tkey"].unique()) == TYPES
    assert (a["associated_on"] <= a["month_end"]).all()
    key = pl.struct("month", "partner_id", "tenant_id", "wkey", "tkey")
    assert a.select(key.is_duplicated().sum()).item() == 0


def test_certification_rules(tables):
    c = tables["certifications"].with_columns(
        earned=pl.col("earned_on").str.to_date("%Y-%m-%d"),
        expires=pl.col("expires_on").str.to_date("%Y-%m-%d"),
    )
    assert c["partner_id"].null_count() == 0 and c["person_id"].null_count() == 0
    assert c["earned"].null_count() == 0
    assert c.filter(pl.col("expires").is_not_null() & (pl.col("expires") <= pl.col("earned"))).height == 0


# ---- the data exercises the rules -----------------------------------------------------------------


def test_tenants_in_both_bands_and_on_the_boundaries(tables):
    u = tables["usage"].filter(pl.col("wkey").is_in(list(ELIGIBLE)))
    bands = u.group_by("month", "tenant_id").agg(
        enterprise=(pl.col("paid_seats") > 300).any(),
        smb=pl.col("paid_seats").is_between(11, 300).any(),
        neither=(pl.col("paid_seats") <= 10).all(),
    )
    assert bands["enterprise"].sum() > 0
    assert bands["smb"].sum() > 0
    assert (bands["enterprise"] & bands["smb"]).sum() > 0
    assert bands["neither"].sum() > 0
    assert {10, 11, 300, 301} <= set(u["paid_seats"].unique())
    assert tables["usage"]["paid_seats"].max() > 1000
    # Ineligible workloads, odd spellings, over-use and drifting users are all there.
    assert (~tables["usage"]["wkey"].is_in(list(ELIGIBLE))).any()
    assert (tables["usage"]["workload"] != tables["usage"]["workload"].str.strip_chars()).any()
    assert (tables["usage"]["workload"].str.strip_chars() == tables["usage"]["wkey"]).any()
    assert (tables["usage"]["active_users"] > tables["usage"]["paid_seats"]).any()
    per_slot = (
        tables["usage"]
        .group_by("tenant_id", "wkey")
        .agg(users=pl.col("active_users").n_unique(), seats=pl.col("paid_seats").n_unique())
    )
    assert (per_slot["users"] > 1).mean() > 0.5
    assert (per_slot["seats"] > 1).any()


def test_associations_exercise_the_rules(tables):
    a, u = tables["assoc"], tables["usage"]
    last = MONTH_LABELS[-1]
    now = a.filter(pl.col("month") == last)
    year_ago = dt.date(2023, 2, 28)  # the end of M-12 for M = 2024-02
    assert (now["associated_on"] > year_ago).sum() > 0  # new within the last 12 months
    assert (now["associated_on"] <= year_ago).sum() > 0
    # The same partner holds a workload through both CSP_T1 and CSP_T2 rows.
    csp = a.filter(pl.col("tkey").is_in(["CSP_T1", "CSP_T2"]))
    both = csp.group_by("month", "partner_id", "tenant_id", "wkey").agg(n=pl.col("tkey").n_unique())
    assert (both["n"] == 2).any()
    # Type spelled in another case; a workload spelled oddly.
    assert (a["association_type"] != a["tkey"]).any()
    assert (a["workload"].str.strip_chars() != a["workload"]).any() or (
        a["workload"].str.to_lowercase() == a["workload"]
    ).any()
    # Associations on workloads without a usage row that month.
    no_usage = a.join(u, on=["month", "tenant_id", "wkey"], how="anti")
    assert no_usage.height > 0
    # Tenants held by more than one partner over time, and holdings that start and end.
    assert (a.group_by("tenant_id").agg(pl.col("partner_id").n_unique())["partner_id"] > 1).any()
    spans = a.group_by("partner_id", "tenant_id", "wkey", "tkey").agg(
        first=pl.col("month").min(), last=pl.col("month").max()
    )
    assert (spans["first"] > MONTH_LABELS[0]).any() and (spans["last"] < last).any()


def test_partners_known_only_from_other_tables(tables):
    listed = set(tables["partners"]["partner_id"])
    in_assoc = set(tables["assoc"]["partner_id"]) - listed
    in_certs = set(tables["certifications"]["partner_id"]) - listed
    assert in_assoc and in_certs
    assert tables["partners"]["partner_name"].null_count() > 0  # empty names


def test_certifications_exercise_the_rules(tables):
    c = tables["certifications"].with_columns(
        earned=pl.col("earned_on").str.to_date("%Y-%m-%d"),
        expires=pl.col("expires_on").str.to_date("%Y-%m-%d"),
        key=pl.col("certification").str.strip_chars().str.to_lowercase(),
    )
    inter = {fold(x) for x in RULEBOOK.intermediate_certifications}
    adv = {fold(x) for x in RULEBOOK.advanced_certifications}
    alias = {fold(x) for x in RULEBOOK.certification_aliases}
    keys = set(c["key"])
    assert keys & inter and keys & adv and keys & alias
    assert keys - inter - adv - alias  # names that never count
    assert c["expires"].null_count() > 0
    assert c["expires"].drop_nulls().len() > 0
    assert (c["expires"].drop_nulls() == c["expires"].drop_nulls().dt.month_end()).any()
    assert c["earned"].dt.year().n_unique() >= 5
    assert (c.group_by("partner_id").agg(pl.col("person_id").n_unique())["person_id"] > 1).any()


# ---- parquet, argument checks ---------------------------------------------------------------------


def test_parquet_month_files_hold_the_same_data(tmp_path):
    csv = generate(tmp_path / "csv", partners=12, months=2, seed=3)
    pq = generate(tmp_path / "pq", partners=12, months=2, seed=3, fmt="parquet")
    assert (csv.usage_rows, csv.association_rows) == (pq.usage_rows, pq.association_rows)
    assert (tmp_path / "pq" / "partners.csv").read_bytes() == (tmp_path / "csv" / "partners.csv").read_bytes()
    for m in ("2023-01", "2023-02"):
        for stem in ("workload_usage", "associations"):
            assert not (tmp_path / "pq" / "months" / m / f"{stem}.csv").exists()
            a = _read(tmp_path / "csv" / "months" / m / f"{stem}.csv")
            b = _read(tmp_path / "pq" / "months" / m / f"{stem}.parquet")
            assert a.equals(b), (m, stem)
    schema = pl.read_parquet_schema(tmp_path / "pq" / "months" / "2023-01" / "workload_usage.parquet")
    assert schema["paid_seats"] == pl.Int64
    schema = pl.read_parquet_schema(tmp_path / "pq" / "months" / "2023-01" / "associations.parquet")
    assert schema["associated_on"] == pl.Date


def test_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "d"
    generate(out, partners=3, months=2)
    with pytest.raises(FileExistsError):
        generate(out, partners=3, months=2)
    (out / "notes.txt").write_text("kept")
    s = generate(out, partners=4, months=1, fmt="parquet", overwrite=True)
    assert s.partners == 4
    assert sorted(p.name for p in (out / "months").iterdir()) == ["2023-01"]
    assert (out / "notes.txt").read_text() == "kept"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"partners": 0},
        {"partners": 5, "months": 0},
        {"partners": 5, "fmt": "xlsx"},
        {"partners": 5, "start": "2023-13"},
        {"partners": 5, "seed": -1},
    ],
)
def test_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate(tmp_path / "x", **kwargs)


# ---- ingestion reads the output ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ingestion_reads_the_output(tmp_path, fmt):
    s = generate(tmp_path / fmt, partners=25, months=13, seed=5, fmt=fmt)
    months = ingest.list_months(tmp_path / fmt)
    assert len(months) == 13 and months[0] == dt.date(2023, 1, 1)
    snap = ingest.read_snapshots(tmp_path / fmt, months)
    assert snap.usage.height == s.usage_rows
    assert snap.associations.height == s.association_rows
    assert ingest.read_partners(tmp_path / fmt).height == s.partners
    assert ingest.read_certifications(tmp_path / fmt).height == s.certification_rows
    known = ingest.known_partner_ids(tmp_path / fmt)
    assert known.len() == s.partners + s.unlisted_partners


# ---- across the 2026 revision ----------------------------------------------------------------

ACROSS_START, ACROSS_MONTHS = "2025-06", 26  # 2025-06..2027-07: the 2023 rules, then 2026-09's


@pytest.fixture(scope="module")
def across(tmp_path_factory) -> dict[str, pl.DataFrame]:
    out = tmp_path_factory.mktemp("gen2026") / "data"
    generate(out, partners=300, months=ACROSS_MONTHS, start=ACROSS_START, seed=5)
    labels = [format_month(add_months(parse_month(ACROSS_START), i)) for i in range(ACROSS_MONTHS)]
    usage = pl.concat(
        [_read(out / "months" / m / "workload_usage.csv").with_columns(month=pl.lit(m)) for m in labels]
    ).with_columns(pl.col("paid_seats").cast(pl.Int64))
    return {"usage": usage, "certifications": _read(out / "certifications.csv"), "folder": out}


def test_data_across_the_revision_uses_both_names_of_renamed_workloads_never_both_in_one_key(across):
    books = load_rulebooks()
    usage = across["usage"].with_columns(
        key=pl.col("workload").map_elements(books.fold_workload, return_dtype=pl.String),
        name=pl.col("workload").str.strip_chars().str.to_lowercase(),
    )
    assert usage.group_by("month", "tenant_id", "key").len()["len"].max() == 1  # one name per key
    for old, new in books.workload_renames.items():
        names = set(usage.filter(pl.col("key") == fold(new))["name"])
        assert names == {fold(old), fold(new)}, (old, new)
    # the later name is the usual one after the change, the earlier one before
    exchange = usage.filter(pl.col("key") == "exchange online")
    later_share = exchange.group_by(pl.col("month") >= "2026-09").agg((pl.col("name") == "exchange online").mean())
    shares = dict(later_share.iter_rows())
    assert shares[False] < 0.4 < 0.6 < shares[True]


def test_data_across_the_revision_holds_the_new_workloads_and_teams_premium_only_customers(across):
    usage = across["usage"].with_columns(name=pl.col("workload").str.strip_chars().str.to_lowercase())
    names = set(usage["name"])
    new_2026 = {"m365 copilot", "teams premium", "teams apps", "microsoft entra id p1", "windows 365"}
    assert new_2026 <= names and "teams platform" in names
    book = load_rulebooks().versions[-1]
    counted = {fold(w) for w in book.workloads["NET_CUSTOMER_ADDS"]} | {fold(o) for o in book.workload_renames}
    smb = usage.filter(pl.col("paid_seats").is_between(11, 300))
    premium_only = smb.group_by("month", "tenant_id").agg(
        premium=(pl.col("name") == "teams premium").any(), other=pl.col("name").is_in(list(counted)).any()
    )
    assert premium_only.filter(pl.col("premium") & ~pl.col("other")).height > 0


def test_data_across_the_revision_holds_customers_growing_past_300_seats(across):
    usage = across["usage"].with_columns(name=pl.col("workload").str.strip_chars().str.to_lowercase())
    year_ago = usage.with_columns(
        month=pl.col("month").map_elements(
            lambda m: format_month(add_months(parse_month(m), 12)), return_dtype=pl.String
        )
    )
    grown = usage.join(year_ago, on=["month", "tenant_id", "name"], suffix="_ago").filter(
        (pl.col("paid_seats") > 300) & pl.col("paid_seats_ago").is_between(11, 300)
    )
    assert grown["tenant_id"].n_unique() > 0


def test_data_across_the_revision_holds_new_removed_and_retiring_certifications(across):
    certs = across["certifications"].with_columns(name=pl.col("certification").str.strip_chars().str.to_lowercase())
    names = set(certs["name"])
    books = load_rulebooks()
    new, old = books.versions[-1], books.versions[0]
    assert fold("Microsoft 365 Certified: Copilot and Agent Administration Fundamentals") in names
    assert {fold(c) for c in new.removed_certifications} <= names
    for cert, through in new.certification_counts_through.items():
        held = certs.filter(pl.col("name") == fold(cert)).with_columns(
            pl.col("earned_on").str.to_date(), pl.col("expires_on").str.to_date()
        )
        near = held.filter((pl.col("expires_on") - pl.lit(through)).dt.total_days().abs() <= 3)
        earned_around = held.filter((pl.col("earned_on") - pl.lit(through)).dt.total_days().abs() <= 45)
        assert near.height > 0 and earned_around.height > 0, cert
    assert old.id != new.id


def test_data_across_the_revision_passes_the_input_checks(across):
    books = load_rulebooks()
    months = ingest.list_months(across["folder"])
    assert len(months) == ACROSS_MONTHS
    for snapshot in ingest.iter_snapshots(across["folder"], months, rulebooks=books):
        assert snapshot.usage.height > 0
