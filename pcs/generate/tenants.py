"""The tenants of a chunk of partners and their workload usage: one slot per (tenant, workload)
holding the parameters of its seats and active users, and a month's usage rows from the slots."""

from __future__ import annotations

import math

import polars as pl

from pcs.generate.world import NEVER, World, per_group, spell_workload, tenant_id
from pcs.generate.writers import USAGE_COLUMNS

# Relative frequency of a workload among a tenant's workloads (folded name; others weigh 2).
_WORKLOAD_WEIGHTS = {
    "exchange": 16,
    "teams": 16,
    "proplus": 13,
    "sharepoint": 12,
    "intune": 7,
    "teams meetings": 5,
    "teams phone": 4,
    "yammer": 3,
    "dynamics 365": 3,
    "power bi": 4,
    "azure ad premium": 3,
    "vivainsights": 1.5,
    "vivatopics": 1,
    "vivalearning": 1,
    "vivaconnections": 1.5,
    "teams platform": 1.5,
    "teams phone calling": 2,
}
_P_ENTERPRISE_TENANT = (0.85, 0.06, 0.35, 0.35, 0.2, 0.4, 0.5, 0.0)  # tenant size from the big mode
_P_NEW_TENANT = (0.04, 0.06, 0.40, 0.02, 0.05, 0.07, 0.0, 0.0)  # tenant appears inside the window
_P_LEAVE = (0.03, 0.05, 0.01, 0.10, 0.03, 0.04, 0.0, 0.0)  # tenant disappears inside the window
_SLOPE = (0.003, 0.0, 0.012, -0.012, 0.0, 0.0, 0.0, 0.0)  # mean monthly adoption drift
_SEAT_DRIFT = (0.02, 0.0, 0.18, -0.18, 0.0, 0.0, 0.0, 0.0)  # mean log factor of a seat change
_MAX_SEATS = 50_000


def tenant_table(w: World, chunk: pl.DataFrame) -> pl.DataFrame:
    """The tenants whose home partner is in ``chunk``: global index, strategy, size, first month."""
    rng = w.rng
    t = (
        chunk.filter(pl.col("n_tenants") > 0)
        .select(
            home=pl.col("p"),
            strategy=pl.col("strategy"),
            t=pl.int_ranges(pl.col("tenant0"), pl.col("tenant0") + pl.col("n_tenants"), dtype=pl.UInt32),
        )
        .explode("t")
    )
    key = t["t"]
    s = t["strategy"]
    big = rng.uniform(key, "big") < per_group(_P_ENTERPRISE_TENANT, s)
    z = rng.normal(key, "scale")
    # Seats of the tenant's typical workload: enterprise mode median 1,200, SMB mode median 40.
    scale = (
        pl.DataFrame({"big": big, "z": z})
        .select(
            pl.when(pl.col("big"))
            .then((math.log(1200) + 1.1 * pl.col("z")).exp())
            .otherwise((math.log(40) + 0.95 * pl.col("z")).exp())
        )
        .to_series()
    )
    new = rng.uniform(key, "new-tenant") < w.pw_group(_P_NEW_TENANT, s)
    first = (
        pl.DataFrame({"new": new, "m": rng.below(key, "new-tenant-month", w.months)})
        .select(pl.when(pl.col("new")).then(pl.col("m")).otherwise(-1))
        .to_series()
    )
    leave = rng.uniform(key, "leave") < w.pw_group(_P_LEAVE, s)
    last = (
        pl.DataFrame({"leave": leave, "first": first, "u": rng.uniform(key, "leave-month")})
        .select(
            pl.when(pl.col("leave"))
            .then(pl.col("first").clip(0) + (pl.col("u") * (w.months - pl.col("first").clip(0))).floor())
            .otherwise(NEVER)
        )
        .to_series()
    )
    # Workloads per tenant: 1..8, bigger tenants use more.
    n_slots = rng.choice(key, "n-slots", [0.17, 0.22, 0.2, 0.16, 0.12, 0.08, 0.05]).cast(pl.Int64) + 1
    n_slots = n_slots + (scale > 2000).cast(pl.Int64)
    return t.with_columns(
        scale=scale.cast(pl.Float32),
        first=first.cast(pl.Int32),
        last=last.cast(pl.Int32),
        n_slots=n_slots.cast(pl.UInt8),
    )


def usage_slots(w: World, tenants: pl.DataFrame) -> pl.DataFrame:
    """One row per (tenant, workload): the parameters of its seats and active users over time."""
    rng = w.rng
    names = w.workload_names
    weights = [_WORKLOAD_WEIGHTS.get(n.strip().casefold(), 2.0) for n in names]
    s = (
        tenants.select("t", "strategy", "scale", "first", "last", k=pl.int_ranges(0, pl.col("n_slots"), dtype=pl.UInt8))
        .explode("k")
        .with_columns(skey=pl.col("t").cast(pl.UInt64) * 32 + pl.col("k").cast(pl.UInt64))
    )
    s = s.with_columns(wl=rng.choice(s["skey"], "workload", weights).cast(pl.UInt8))
    # Distinct workloads per tenant (so the folded (tenant, workload) key is unique).
    s = s.unique(subset=["t", "wl"], keep="first", maintain_order=True)
    key, strat = s["skey"], s["strategy"]
    seats = (s["scale"].cast(pl.Float64) * (0.55 * rng.normal(key, "seats")).exp()).round().clip(1, _MAX_SEATS)
    boundary = rng.uniform(key, "boundary") < 0.015
    bval = pl.Series([10, 11, 300, 301], dtype=pl.Float64).gather(rng.below(key, "boundary-value", 4))
    zero = rng.uniform(key, "zero-seats") < 0.005
    u_c1, u_c2 = rng.uniform2(key, "changes")
    drift = per_group(_SEAT_DRIFT, strat)
    a0 = rng.uniform(key, "adoption")
    a0 = 0.03 + 0.92 * a0 * (0.6 + 0.4 * a0)  # a little more mass below the 40 % line
    slope = per_group(_SLOPE, strat) + 0.006 * rng.normal(key, "slope")
    # Active users stay within the paid seats, except on a few workloads (over-use, a warning).
    cap = ((rng.uniform(key, "over-use") < 0.04).cast(pl.Float64) * 0.08 + 1.0).cast(pl.Float32)
    late_start = rng.uniform(key, "slot-start") < w.pw(0.05)
    early_end = rng.uniform(key, "slot-end") < w.pw(0.05)
    d = pl.DataFrame(
        {
            "seats": seats,
            "boundary": boundary,
            "bval": bval,
            "zero": zero,
            "u_c1": u_c1,
            "u_c2": u_c2,
            "m_c1": rng.below(key, "change1-month", w.months),
            "m_c2": rng.below(key, "change2-month", w.months),
            "f1": (drift + 0.35 * rng.normal(key, "change1-factor")).exp(),
            "f2": (drift + 0.35 * rng.normal(key, "change2-factor")).exp(),
            "late": late_start,
            "m_start": rng.below(key, "slot-start-month", w.months),
            "early": early_end,
            "end_u": rng.uniform(key, "slot-end-month"),
            "trial": 1 + rng.below(key, "trial-users", 25),
        }
    )
    frozen = pl.col("boundary") | pl.col("zero")
    d = d.select(
        seats0=pl.when(pl.col("zero")).then(0).when(pl.col("boundary")).then(pl.col("bval")).otherwise(pl.col("seats")),
        c1=pl.when(~frozen & (pl.col("u_c1") < w.pw(0.25))).then(pl.col("m_c1")).otherwise(NEVER),
        c2=pl.when(~frozen & (pl.col("u_c2") < w.pw(0.10))).then(pl.col("m_c2")).otherwise(NEVER),
        f1=pl.col("f1"),
        f2=pl.col("f2"),
        slot_start=pl.when(pl.col("late")).then(pl.col("m_start")).otherwise(-1),
        early=pl.col("early"),
        end_u=pl.col("end_u"),
        trial=pl.col("trial"),
    )
    s = pl.concat([s, d], how="horizontal").with_columns(
        u_start=pl.max_horizontal("first", "slot_start"),
    )
    s = s.with_columns(
        u_end=pl.when(pl.col("early"))
        .then(pl.col("u_start").clip(0) + (pl.col("end_u") * (w.months - pl.col("u_start").clip(0))).floor())
        .otherwise(NEVER),
    ).with_columns(u_end=pl.min_horizontal("u_end", "last"))
    return s.select(
        t=pl.col("t"),
        tenant_id=tenant_id(pl.col("t")),
        k=pl.col("k"),
        skey=pl.col("skey"),
        wl=pl.col("wl"),
        seats0=pl.col("seats0").cast(pl.Int32),
        trial=pl.col("trial").cast(pl.Int16),
        c1=pl.col("c1").cast(pl.Int16),
        f1=pl.col("f1").cast(pl.Float32),
        c2=pl.col("c2").cast(pl.Int16),
        f2=pl.col("f2").cast(pl.Float32),
        a0=pl.Series(a0).cast(pl.Float32),
        slope=pl.Series(slope).cast(pl.Float32),
        cap=cap,
        u_start=pl.col("u_start").cast(pl.Int16),
        u_end=pl.col("u_end").cast(pl.Int16),
    )


def usage_month(w: World, slots: pl.DataFrame, m: int) -> pl.DataFrame:
    """The chunk's workload_usage rows of month ``m`` (index into the window)."""
    d = slots.filter((pl.col("u_start") <= m) & (pl.col("u_end") >= m))
    if d.height == 0:
        return pl.DataFrame(schema=USAGE_COLUMNS)
    ua, ub = w.rng.uniform2(d["skey"], "usage-noise", m)
    name_noise = w.rng.uniform(d["skey"], "usage-name", m)
    d = d.with_columns(noise=(ua + ub - 1.0) * 0.06, name_noise=name_noise)
    seats = (
        pl.col("seats0").cast(pl.Float64)
        * pl.when(pl.col("c1") <= m).then(pl.col("f1")).otherwise(1.0)
        * pl.when(pl.col("c2") <= m).then(pl.col("f2")).otherwise(1.0)
    )
    d = d.with_columns(
        paid_seats=pl.when(pl.col("seats0") == 0).then(0).otherwise(seats.round().clip(1, _MAX_SEATS)).cast(pl.Int64)
    )
    adoption = (pl.col("a0") + pl.col("slope") * m + pl.col("noise")).clip(0.0, pl.col("cap"))
    base = pl.when(pl.col("paid_seats") > 0).then(pl.col("paid_seats")).otherwise(pl.col("trial"))
    return d.select(
        tenant_id=pl.col("tenant_id"),
        workload=spell_workload(w, pl.col("wl"), pl.col("name_noise"), m),
        paid_seats=pl.col("paid_seats"),
        active_users=(base.cast(pl.Float64) * adoption).round().cast(pl.Int64),
    )
