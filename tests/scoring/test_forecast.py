"""The projection (issue 14): forecasts equal what the pipeline scores from a data folder in which
``from``'s snapshot is copied into the following months; the lapse month's window edges; the
partner-slice read equals the whole read, filtered."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from scoring import calendar, engine, forecast, ingest
from scoring import simulate as sim
from scoring.frames import DESIGNATIONS_SCHEMA, MissingSnapshotError, Snapshots
from scoring.ingest.slices import SnapshotCache
from scoring.rulebook import load_rulebooks
from scoring.scorecards import scorecards
from scoring.service import score_months
from tests.support.builders import month
from tests.support.paths import EXAMPLE_2026, EXAMPLE_DATA
from tests.support.scorecards import assert_fields_close

DATA_2026 = EXAMPLE_2026 / "data"
needs_2026 = pytest.mark.skipif(not DATA_2026.exists(), reason="2026 example data not beside the project")
needs_example = pytest.mark.skipif(not EXAMPLE_DATA.exists(), reason="example data not beside the project")


def copied_forward(src: Path, dst: Path, start: dt.date, months: int) -> Path:
    """``src`` with every month after ``start`` replaced by a copy of ``start``'s folder (files)."""
    shutil.copytree(src, dst)
    root = dst / ingest.MONTHS_DIR
    for folder in root.iterdir():
        if calendar.parse_month(folder.name) > start:
            shutil.rmtree(folder)
    for m in forecast.projected_months(start, months):
        shutil.copytree(root / f"{start:%Y-%m}", root / f"{m:%Y-%m}")
    return dst


def projection_of(data: Path, start: dt.date, months: int, partner_ids=None):
    snaps = ingest.read_snapshots(data, forecast.snapshots_needed(start))
    certs = ingest.read_certifications(data)
    ids = partner_ids if partner_ids is not None else ingest.known_partner_ids(data)
    return forecast.forecast(
        rulebooks=load_rulebooks(),
        snapshots=snaps,
        certifications=certs,
        partner_ids=ids,
        from_month=start,
        months=months,
    )


def assert_same_results(got, want) -> None:
    for name in engine.NAT_KEYS:
        a, b = getattr(got, name), getattr(want, name)
        keys = engine.NAT_KEYS[name]
        assert a.columns == b.columns, name
        assert a.height == b.height, name
        assert a.sort(keys).equals(b.sort(keys)), name
    cards = {(c["partnerId"], c["month"]): c for c in scorecards(got)}
    wanted = scorecards(want)
    assert len(cards) == len(wanted)
    for card in wanted:
        assert_fields_close(cards[(card["partnerId"], card["month"])], card, f"{card['partnerId']} {card['month']}")


# ---- the done-means test: forecast == the pipeline over copied snapshots ------------------------


@needs_2026
@pytest.mark.parametrize("start", ["2026-07", "2026-08"])
def test_forecast_equals_the_pipeline_over_copied_snapshots(tmp_path, start):
    """Across the rule version change (2026-08 is scored under 2023-06-12, 2026-09 on under
    2026-09) and the counts-through dates 2027-03-31 and 2027-06-15, all 30 partners."""
    start_month, months = month(start), 12 if start == "2026-07" else 11
    copied = copied_forward(DATA_2026, tmp_path / "copied", start_month, months)
    ahead = forecast.projected_months(start_month, months)
    want = score_months(ahead, directory=copied).result  # the pipeline's own path
    got = projection_of(DATA_2026, start_month, months, ingest.known_partner_ids(copied))
    assert_same_results(got, want)
    # the data does reach what the test claims to cross
    books = set(got.designations["rulebook_id"].unique())
    if start == "2026-07":
        assert books == {"2023-06-12", "2026-09"}
    persons = got.metric_points.filter(pl.col("metric").str.ends_with("CERTIFICATIONS") & (pl.col("option") == "ALL"))
    by_month = persons.group_by("month").agg(pl.col("value").sum()).sort("month")
    values = dict(zip(by_month["month"], by_month["value"], strict=True))
    assert values[month("2027-04")] != values[month("2027-03")]  # Fundamentals counts through 2027-03-31


@needs_example
def test_forecast_of_one_partner_equals_its_rows_of_all_partners(tmp_path):
    start = month("2024-06")
    everyone = projection_of(EXAMPLE_DATA, start, 6)
    for pid in ("P000000", "P000003"):
        inputs = sim.load_partner_inputs(EXAMPLE_DATA, pid, start, months=forecast.snapshots_needed(start))
        one = forecast.forecast(
            rulebooks=load_rulebooks(),
            snapshots=inputs.snapshots,
            certifications=inputs.certifications,
            partner_ids=[pid],
            from_month=start,
            months=6,
        )
        mine = pl.col("partner_id") == pid
        for name in ("metric_points", "path_scores", "designations", "customer_details", "holdings"):
            keys = engine.NAT_KEYS[name]
            a, b = getattr(one, name).filter(mine).sort(keys), getattr(everyone, name).filter(mine).sort(keys)
            assert a.height > 0 or name in ("customer_details", "holdings")
            assert a.equals(b), (pid, name)


@needs_example
def test_forecast_streamed_from_the_files_equals_the_forecast():
    start = month("2024-03")
    snapshots = ingest.iter_snapshots(EXAMPLE_DATA, forecast.snapshots_needed(start))
    certs = ingest.read_certifications(EXAMPLE_DATA)
    ids = ingest.known_partner_ids(EXAMPLE_DATA)
    read: list[dt.date] = []

    def load(n: dt.date):
        snap = next(snapshots)
        assert snap.months == {n}
        read.append(n)
        return snap.usage, snap.associations

    streamed = forecast.forecast_streamed(
        rulebooks=load_rulebooks(), load=load, certifications=certs, partner_ids=ids, from_month=start, months=4
    )
    assert read == forecast.snapshots_needed(start)  # each real month once, in order
    assert_same_results(streamed, projection_of(EXAMPLE_DATA, start, 4, ids))


def test_projected_snapshots_copy_from_and_keep_earlier_months():
    m = [month(x) for x in ("2024-01", "2024-02", "2024-03")]
    usage = pl.DataFrame(
        {"month": m, "tenant_id": ["T1", "T2", "T3"], "workload": ["Exchange"] * 3, "paid_seats": [1, 2, 3]}
    ).with_columns(active_users=pl.col("paid_seats"))
    assoc = pl.DataFrame(
        {
            "month": m,
            "partner_id": ["P"] * 3,
            "tenant_id": ["T1", "T2", "T3"],
            "workload": ["Exchange"] * 3,
            "association_type": ["CPOR"] * 3,
            "associated_on": [dt.date(2020, 1, 5)] * 3,
        }
    )
    snaps = Snapshots(frozenset(m), usage, assoc)
    out = forecast.projected_snapshots(snaps, m[1], 2)
    assert out.months == {m[0], m[1], month("2024-03"), month("2024-04")}
    assert out.usage.sort("month")["tenant_id"].to_list() == ["T1", "T2", "T2", "T2"]  # the real 2024-03 replaced
    assert out.associations.filter(pl.col("month") == month("2024-04"))["associated_on"].to_list() == [
        dt.date(2020, 1, 5)
    ]
    with pytest.raises(MissingSnapshotError):
        forecast.projected_snapshots(snaps, month("2024-05"), 1)


@needs_example
def test_forecast_needs_the_twelve_months_up_to_from():
    given = {
        "rulebooks": load_rulebooks(),
        "snapshots": ingest.read_snapshots(EXAMPLE_DATA, forecast.snapshots_needed(month("2024-06"))[1:]),
        "certifications": ingest.read_certifications(EXAMPLE_DATA),
        "partner_ids": ["P000000"],
        "from_month": month("2024-06"),
    }
    with pytest.raises(MissingSnapshotError, match="2023-07"):
        forecast.forecast(**given, months=1)
    with pytest.raises(ValueError):
        forecast.forecast(**given, months=0)


# ---- the lapse month ---------------------------------------------------------------------------


def designations(rows: list[tuple[str, str, bool]]) -> pl.DataFrame:
    """(partner, month, attained) -> DESIGNATIONS_SCHEMA rows."""
    cols = list(DESIGNATIONS_SCHEMA)
    out = []
    for pid, mon, attained in rows:
        row = dict.fromkeys(cols)
        row.update(
            month=month(mon), partner_id=pid, attained=attained, best_track="SMB", score=70.0 if attained else 1.0
        )
        out.append(row)
    return pl.DataFrame(out, schema=DESIGNATIONS_SCHEMA)


def months_from(start: str, n: int) -> list[str]:
    return [f"{calendar.add_months(month(start), k):%Y-%m}" for k in range(n)]


FROM = "2024-06"
AHEAD = months_from("2024-07", 12)


@pytest.mark.parametrize(
    ("last_attained", "lapse"),
    [
        ("2024-06", "2024-12"),  # attained in from: the window holds it through from+5
        ("2024-01", "2024-07"),  # the 6th month of the window is from itself: lapses in from+1
        ("2023-12", "2024-07"),  # already out of the window in from
        ("2024-02", "2024-08"),
    ],
)
def test_lapse_month_window_edges(last_attained, lapse):
    history = designations([("P", m, m == last_attained) for m in months_from("2023-06", 13)])
    projected = designations([("P", m, False) for m in AHEAD])
    assert forecast.first_lapse_month(history, projected, "P", month(FROM)) == month(lapse)


def test_lapse_exactly_in_the_sixth_projected_month():
    """Attained in from+1 only: the window of from+6 still holds it, from+7 does not."""
    history = designations([("P", m, False) for m in months_from("2023-06", 13)])
    projected = designations([("P", m, m == "2024-07") for m in AHEAD])
    assert forecast.first_lapse_month(history, projected, "P", month(FROM)) == month("2025-01")
    only_six = designations([("P", m, m == "2024-07") for m in AHEAD[:6]])
    assert forecast.first_lapse_month(history, only_six, "P", month(FROM)) is None


def test_no_lapse_within_the_projected_months():
    history = designations([("P", m, True) for m in months_from("2023-06", 13)])
    every_other = designations([("P", m, i % 5 == 4) for i, m in enumerate(AHEAD)])
    assert forecast.first_lapse_month(history, every_other, "P", month(FROM)) is None
    never_again = designations([("P", m, False) for m in AHEAD])
    assert forecast.first_lapse_month(history, never_again, "P", month(FROM)) == month("2024-12")


def test_never_attained_lapses_in_the_first_projected_month():
    history = designations([("P", m, False) for m in months_from("2023-06", 13)])
    projected = designations([("P", m, False) for m in AHEAD])
    assert forecast.first_lapse_month(history, projected, "P", month(FROM)) == month("2024-07")
    # no history at all (a new partner) is the same
    assert forecast.first_lapse_month(history.clear(), projected, "P", month(FROM)) == month("2024-07")
    gains = designations([("P", m, m >= "2024-07") for m in AHEAD])
    assert forecast.first_lapse_month(history, gains, "P", month(FROM)) is None


def test_lapse_months_of_every_partner_at_once():
    history = designations(
        [("A", m, m == "2024-06") for m in months_from("2023-06", 13)]
        + [("B", m, True) for m in months_from("2023-06", 13)]
        + [("C", m, False) for m in months_from("2023-06", 13)]
    )
    projected = designations(
        [("A", m, False) for m in AHEAD] + [("B", m, True) for m in AHEAD] + [("C", m, m == "2024-09") for m in AHEAD]
    )
    frame = forecast.lapse_months(history, projected, month(FROM))
    assert frame.rows() == [("A", month("2024-12")), ("B", None), ("C", month("2024-07"))]
    for pid, lapse in frame.rows():
        assert forecast.first_lapse_month(history, projected, pid, month(FROM)) == lapse
    # projected rows of months up to from, and history rows after it, are ignored
    noisy = pl.concat([projected, designations([("A", "2024-05", True)])])
    assert forecast.lapse_months(history, noisy, month(FROM)).rows() == frame.rows()


# ---- the partner-slice read ---------------------------------------------------------------------


@needs_2026
@pytest.mark.parametrize("pid", ["P000000", "P000004", "P000029", "nobody"])
def test_partner_slice_equals_the_whole_read_filtered(pid):
    mon = month("2026-10")
    needed = engine.months_needed(mon)
    whole = sim.restrict(pid, mon, ingest.read_snapshots(DATA_2026, needed), ingest.read_certifications(DATA_2026))
    cache = SnapshotCache(max_months=20)
    fast = sim.load_partner_inputs(DATA_2026, pid, mon, cache=cache)
    assert fast.snapshots.months == whole.snapshots.months
    for name, keys in (
        ("usage", ["month", "tenant_id", "workload"]),
        ("associations", ["month", "tenant_id", "workload", "association_type"]),
    ):
        a, b = getattr(fast.snapshots, name).sort(keys), getattr(whole.snapshots, name).sort(keys)
        assert a.equals(b), name
    assert fast.certifications.sort("person_id", "certification", "earned_on").equals(
        whole.certifications.sort("person_id", "certification", "earned_on")
    )
    assert cache.reads == 13
    sim.load_partner_inputs(DATA_2026, pid, mon, cache=cache)
    assert cache.reads == 13  # the second read comes from memory


def test_partner_slice_rereads_a_changed_month_and_keeps_at_most_max_months(tmp_path):
    if not DATA_2026.exists():
        pytest.skip("2026 example data not beside the project")
    data = tmp_path / "data"
    shutil.copytree(DATA_2026, data)
    cache = SnapshotCache(max_months=3)
    months = [month("2026-08"), month("2026-09"), month("2026-10")]
    before = cache.partner_snapshots(data, ["P000000"], months)
    assert cache.reads == 3
    usage = data / "months" / "2026-10" / "workload_usage.csv"
    lines = usage.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    usage.write_text("\n".join([header, *[r for r in rows if not r.startswith(before.usage["tenant_id"][-1])]]) + "\n")
    after = cache.partner_snapshots(data, ["P000000"], months)
    assert cache.reads == 4
    assert after.usage.height < before.usage.height
    cache.partner_snapshots(data, ["P000000"], [month("2026-11")])
    cache.partner_snapshots(data, ["P000000"], [month("2026-08")])
    assert cache.reads == 6  # 2026-08 was dropped when 2026-11 came in
    with pytest.raises(MissingSnapshotError):
        cache.partner_snapshots(data, ["P000000"], [month("2030-01")])


def test_a_partner_restricted_cache_gives_its_partners_the_same_slices_and_refuses_others():
    if not DATA_2026.exists():
        pytest.skip("2026 example data not beside the project")
    months = engine.months_needed(month("2026-10"))
    whole = SnapshotCache(max_months=20)
    kept = SnapshotCache(max_months=20, partners=["P000000", "P000004"])
    for pids in (["P000000", "P000004"], ["P000004"]):
        a, b = kept.partner_snapshots(DATA_2026, pids, months), whole.partner_snapshots(DATA_2026, pids, months)
        assert a.months == b.months
        assert a.usage.equals(b.usage) and a.associations.equals(b.associations)
    assert kept.reads == 13  # the second slice from memory
    assert kept.keeps(pl.Series(["P000004"])) and not kept.keeps(pl.Series(["P000004", "P000029"]))
    with pytest.raises(ValueError, match="does not keep"):
        kept.partner_snapshots(DATA_2026, ["P000029"], months)
