"""A month scored in partner shards (scoring/shards.py, scoring/ingest/shards.py,
``service.score_shard``) against the single-process scoring of the same folder
(``service.score_months``): every frame, the partner registry, the seats warnings and the input
errors. On the example folders (2023 and 2026 rules), a generated folder (300 partners, CSV and
Parquet) and random small worlds (hypothesis), for 1, 4 and 8 shards."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcs.generate import generate
from scoring import service
from scoring.engine import NAT_KEYS, ScoreResult, months_needed
from scoring.frames import InputError
from scoring.ingest.shards import ShardInputError, first_error, seat_warnings
from scoring.shards import MAX_SHARDS, Shard, shard_of, shard_series
from tests.orchestration.test_bad_input_corpus import CASES
from tests.scoring.test_properties import worlds
from tests.support.builders import World
from tests.support.inputs import (
    ASSOC_HEADER,
    CERTS_HEADER,
    JUN,
    PARTNERS_HEADER,
    USAGE_HEADER,
    copy_example,
    edit_csv,
    write_csv,
)
from tests.support.paths import EXAMPLE_2026, EXAMPLE_DATA

DEC = dt.date(2024, 12, 1)

# ---- the hash ----------------------------------------------------------------------------------


def test_shard_of_is_frozen():
    """The values every worker must agree on (BLAKE2b, 8 bytes, little-endian): a change here
    moves partners between shards."""
    assert [shard_of(k, 8) for k in ("P000001", "T0000001", "", "Straße", 'P,"quoted"')] == [0, 5, 4, 6, 4]
    assert [shard_of(k, 1_000_003) for k in ("P000001", "Straße")] == [573408, 187007]


def test_shard_series_hashes_each_value_as_written_and_puts_blanks_in_shard_0():
    keys = pl.Series("k", ["P2", None, "P1", "  ", "P2", "", " P1", "p1"])
    got = shard_series(keys, 7).to_list()
    assert got[1] == got[3] == got[5] == 0  # null, whitespace, empty
    assert got == [0 if k is None or not k.strip() else shard_of(k, 7) for k in keys.to_list()]
    assert shard_series(keys, 1).to_list() == [0] * keys.len()


@given(st.lists(st.text(max_size=6), max_size=40), st.integers(1, 12))
def test_a_keys_shard_is_the_same_in_every_row(keys, n):
    series = pl.Series("k", keys, dtype=pl.String)
    shards = shard_series(series, n).to_list()
    assert all(0 <= s < n for s in shards)
    assert shards == [shard_of(k, n) if k.strip() else 0 for k in keys]  # a key's shard, whatever its row


def test_a_shard_is_checked():
    assert str(Shard(2, 8)) == "shard 3/8"
    for bad in [(0, 0), (8, 8), (-1, 4), (0, MAX_SHARDS + 1)]:
        with pytest.raises(ValueError):
            Shard(*bad)


# ---- exactness ---------------------------------------------------------------------------------


def score_in_shards(data: Path, month: dt.date, n: int, **kw) -> list[service.ScoredShard]:
    return [service.score_shard(month, Shard(k, n), directory=data, **kw) for k in range(n)]


def assert_shards_equal_single(data: Path, month: dt.date, n: int) -> list[service.ScoredShard]:
    """Every frame of the shards together equals the single-process frame, no row twice; the
    shards' registries are disjoint and together the registry; the merged seats warnings are
    the single-process warnings."""
    want = service.score_months([month], directory=data)
    parts = score_in_shards(data, month, n)
    got = ScoreResult.concat([p.result for p in parts])
    for name, keys in NAT_KEYS.items():
        frame = getattr(got, name)
        assert frame.height > 0, name
        assert not frame.select(keys).is_duplicated().any(), f"{name}: a row in two shards"
        assert frame.equals(getattr(want.result, name).sort(keys)), f"{name} differs with {n} shards"
    partners = pl.concat([p.partners for p in parts])
    assert partners.height == want.partners.height
    assert partners.sort("partner_id").equals(want.partners)
    assert seat_warnings(s for p in parts for s in p.seats) == want.warnings
    assert {p.rulebook_id for p in parts} == set(want.result.designations["rulebook_id"])
    return parts


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """300 listed partners, snapshots 2023-01..2024-06."""
    out = tmp_path_factory.mktemp("shards") / "data"
    generate(out, partners=300, months=18, start="2023-01", seed=11)
    return out


@pytest.fixture(scope="module")
def generated_parquet(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shards-pq") / "data"
    generate(out, partners=300, months=18, start="2023-01", seed=11, fmt="parquet")
    return out


@pytest.mark.parametrize("n", [1, 4, 8])
def test_example_month_in_shards_equals_single_process(n):
    assert_shards_equal_single(EXAMPLE_DATA, DEC, n)


@pytest.mark.parametrize(("month", "n"), [("2026-09", 4), ("2027-07", 8), ("2026-08", 1)])
def test_2026_example_in_shards_equals_single_process(month, n):
    """Across the 2026 revision: per-metric workload lists, promoted tenants (their
    eligibility comes from M-12), renamed workloads."""
    assert_shards_equal_single(EXAMPLE_2026 / "data", dt.date.fromisoformat(month + "-01"), n)


@pytest.mark.parametrize("n", [1, 4, 8])
def test_generated_month_in_shards_equals_single_process(generated, n):
    parts = assert_shards_equal_single(generated, JUN, n)
    # the associations are partitioned: every row read by exactly one shard
    whole = service.score_shard(JUN, Shard(0, 1), directory=generated).stats.rows
    assert sum(p.stats.rows["associations"] for p in parts) == whole["associations"]
    if n > 1:  # and a shard reads a part of the usage only
        assert max(p.stats.rows["usage"] for p in parts) < whole["usage"]


def test_parquet_month_in_shards_equals_single_process(generated_parquet):
    assert_shards_equal_single(generated_parquet, JUN, 4)


def test_a_tenant_held_across_shards_has_the_same_eligibility_in_each(generated):
    """Each shard computes the eligibility of every tenant its partners hold; the copies of a
    tenant held from several shards agree with each other and with the single-process rows (the
    published table keeps the owner's copy only)."""
    want = service.score_months([JUN], directory=generated).result.eligible_tenants
    parts = score_in_shards(generated, JUN, 8, all_tenants=True)
    copies = pl.concat([p.result.eligible_tenants.with_columns(shard=pl.lit(p.shard.index)) for p in parts])
    keys = NAT_KEYS["eligible_tenants"]
    shared = copies.filter(pl.len().over(keys) > 1)
    assert shared.select("tenant_id").n_unique() > 50  # the case is common, not hypothetical
    distinct = copies.drop("shard").unique()
    assert distinct.height == want.height  # every copy of a tenant is the same row ...
    assert distinct.sort(keys).equals(want.sort(keys))  # ... the single-process one


def write_world(w: World, data: Path) -> Path:
    """A world of ``tests.support.builders`` as a data folder (every month M-12..M, CSV)."""
    for m in months_needed(w.m):
        folder = data / "months" / f"{m:%Y-%m}"
        usage = [[t, wl, str(p), str(a)] for mo, t, wl, p, a in w.usage_rows if mo == m]
        assoc = [[p, t, wl, k, on.isoformat()] for mo, p, t, wl, k, on in w.assoc_rows if mo == m]
        write_csv(folder / "workload_usage.csv", USAGE_HEADER, usage)
        write_csv(folder / "associations.csv", ASSOC_HEADER, assoc)
    certs = [[p, person, name, e.isoformat(), x.isoformat() if x else ""] for p, person, name, e, x in w.cert_rows]
    write_csv(data / "certifications.csv", CERTS_HEADER, certs)
    write_csv(data / "partners.csv", PARTNERS_HEADER, [[p, f"name {p}"] for p in sorted(w.partners)])
    return data


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(worlds(), st.integers(2, 5))
def test_random_worlds_in_shards_equal_single_process(tmp_path_factory, w, n):
    data = write_world(w, tmp_path_factory.mktemp("world") / "data")
    want = service.score_months([w.m], directory=data).result
    got = ScoreResult.concat([p.result for p in score_in_shards(data, w.m, n)])
    for name, keys in NAT_KEYS.items():
        assert getattr(got, name).equals(getattr(want, name).sort(keys)), name


# ---- bad input ---------------------------------------------------------------------------------


def single_error(data: Path, month: dt.date) -> str:
    with pytest.raises(InputError) as info:
        service.score_months([month], directory=data)
    return str(info.value)


def shard_errors(data: Path, month: dt.date, n: int) -> list[ShardInputError]:
    errors = []
    for k in range(n):
        try:
            service.score_shard(month, Shard(k, n), directory=data)
        except ShardInputError as exc:
            errors.append(exc)
    return errors


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_fails_the_shards_with_the_single_process_error(case, tmp_path):
    """Every rule of input-data.md broken once (the corpus of the pipeline's bad-input tests):
    some shard fails, and the first of the shards' errors is the single-process error, word for
    word."""
    data = copy_example(tmp_path)
    case.build(data)
    want = single_error(data, JUN)
    errors = shard_errors(data, JUN, 4)
    assert errors, "no shard failed"
    assert str(first_error(errors)) == want


def test_the_first_bad_input_wins_across_shards_and_months(tmp_path):
    """Problems in several inputs, owned by different shards: the single-process run reports the
    first one it reads (an earlier month's usage before a later month's associations), and so
    does the first of the shards' errors, though the shard that owns the later problem never
    reads the earlier one as bad."""
    data = copy_example(tmp_path)
    edit_csv(data / "months/2024-06/associations.csv", 5, "associated_on", "2024-07-02")
    edit_csv(data / "months/2023-09/workload_usage.csv", 40, "paid_seats", "-3")
    edit_csv(data / "months/2024-02/workload_usage.csv", 7, "active_users", "x")
    want = single_error(data, JUN)
    assert "2023-09" in want and "2024-06" not in want
    errors = shard_errors(data, JUN, 8)
    assert len({e.step for e in errors}) > 1  # the shards met different problems first
    assert str(first_error(errors)) == want


def _drop_partner_id(rel: str):
    def build(data: Path) -> None:
        frame = pl.read_csv(data / rel, infer_schema=False).drop("partner_id")
        frame.write_csv(data / rel)

    return build


def _unreadable(rel: str):
    def build(data: Path) -> None:
        (data / rel).write_bytes(b'partner_id,tenant_id\nP1,"T1\n')

    return build


def _several(*builds):
    def build(data: Path) -> None:
        for b in builds:
            b(data)

    return build


REGISTRY_CASES = {
    # every month's partner ids are read before any month: a header error there comes first
    "partner-id-column-missing-in-window": _drop_partner_id("months/2024-03/associations.csv"),
    "partner-id-column-missing-after-the-month": _drop_partner_id("months/2024-09/associations.csv"),
    "unreadable-associations-in-window": _unreadable("months/2023-11/associations.csv"),
    "unreadable-associations-after-the-month": _unreadable("months/2024-10/associations.csv"),
    # and the certifications before them, the month's usage after them
    "certifications-then-registry": _several(
        lambda d: edit_csv(d / "certifications.csv", 3, "earned_on", "soon"),
        _drop_partner_id("months/2024-01/associations.csv"),
    ),
    "registry-then-usage": _several(
        lambda d: edit_csv(d / "months/2023-07/workload_usage.csv", 2, "paid_seats", "-1"),
        _unreadable("months/2024-11/associations.csv"),
    ),
}


@pytest.mark.parametrize("case", sorted(REGISTRY_CASES))
def test_the_registry_read_fails_before_the_months(case, tmp_path):
    data = copy_example(tmp_path)
    REGISTRY_CASES[case](data)
    want = single_error(data, JUN)
    errors = shard_errors(data, JUN, 4)
    assert errors and str(first_error(errors)) == want


def test_a_blank_partner_key_fails_the_month_in_shard_0(tmp_path):
    """A row whose partner id is blank belongs to no partner: shard 0 checks it."""
    data = copy_example(tmp_path)
    edit_csv(data / "months/2024-03/associations.csv", 11, "partner_id", "  ")
    want = single_error(data, JUN)
    errors = shard_errors(data, JUN, 8)
    assert [e.step for e in errors] and all(str(e) == want for e in errors)
    assert str(first_error(errors)) == want
    try:
        service.score_shard(JUN, Shard(0, 8), directory=data)
    except ShardInputError as exc:
        assert str(exc) == want
    else:
        pytest.fail("shard 0 did not fail")


def test_a_good_copy_scores(tmp_path):
    """The control: the harness's copy of the example, unbroken, scores in shards."""
    assert_shards_equal_single(copy_example(tmp_path), JUN, 4)
