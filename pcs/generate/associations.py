"""Who holds each tenant when (the episodes of its home, second, successor and predecessor
partners), as association slots, and a month's association rows from the slots."""

from __future__ import annotations

import polars as pl

from pcs.generate.world import LOWER_TIER, NEVER, UPPER_TIER, World, day_in_month, partner_id, spell_workload, tenant_id
from pcs.generate.writers import ASSOCIATIONS_COLUMNS

_P_NEW_ASSOC = (0.10, 0.14, 0.35, 0.05, 0.10, 0.14, 0.0, 0.0)  # existing tenant, new association
_P_END_ASSOC = (0.05, 0.10, 0.03, 0.45, 0.10, 0.08, 0.0, 0.0)  # association ends inside the window
_A_TYPE_WEIGHTS = (  # per strategy: the home partner's association type, in the rulebook's order
    (0.50, 0.42, 0.06, 0.02),
    (0.35, 0.05, 0.45, 0.15),
    (0.35, 0.20, 0.35, 0.10),
    (0.35, 0.25, 0.30, 0.10),
    (0.40, 0.20, 0.30, 0.10),
    (0.35, 0.20, 0.33, 0.12),
    (0.40, 0.20, 0.30, 0.10),
    (0.40, 0.20, 0.30, 0.10),
)
_B_TYPE_WEIGHTS = (0.32, 0.18, 0.35, 0.15)  # a second partner's (CPOR, DPOR, CSP_T1, CSP_T2)
_PRE_WINDOW_MONTHS = 84  # associations made before the window go back up to seven years
_TYPE_NOISE = 0.004  # share of association rows whose type is written in lower case


def _episodes(w: World, tenants: pl.DataFrame) -> pl.DataFrame:
    """Per tenant, who holds it when: the home partner (A), its CSP tier change (T), a second
    partner (B), after the home partner churns a successor (C), and before a home partner that
    took over an existing tenant inside the window its predecessor (P). Month indexes are
    relative to the window's first month; ``NEVER`` means it does not end."""
    rng = w.rng
    M = w.months
    key, s = tenants["t"], tenants["strategy"]
    home = tenants["home"].cast(pl.Int64)
    pool = w.assoc_pool

    def other_partner(stream: str) -> pl.Series:
        return (home + 1 + rng.below(key, stream, max(pool - 1, 1))) % pool

    d = pl.DataFrame(
        {
            "t": key,
            "strategy": s,
            "home": home,
            "first": tenants["first"],
            "last": tenants["last"],
            "a_type": rng.choice_by(key, "a-type", s, _A_TYPE_WEIGHTS),
            "a_new": rng.uniform(key, "a-new") < w.pw_group(_P_NEW_ASSOC, s),
            "a_new_m": rng.below(key, "a-new-month", M),
            "a_lag": rng.choice(key, "a-lag", [0.2, 0.45, 0.2, 0.15]).cast(pl.Int64) - 1,
            "a_pre": -1 - rng.below(key, "a-pre", _PRE_WINDOW_MONTHS),
            "a_churn": rng.uniform(key, "a-churn") < w.pw_group(_P_END_ASSOC, s),
            "a_churn_u": rng.uniform(key, "a-churn-month"),
            "t_on": rng.uniform(key, "tier") < w.pw(0.35),
            "t_u": rng.uniform(key, "tier-month"),
            "t_overlap": rng.choice(key, "tier-overlap", [0.3, 0.3, 0.2, 0.2]).cast(pl.Int64),
            "b_on": rng.uniform(key, "b") < 0.32,
            "b_partner": other_partner("b-partner"),
            "b_type": rng.choice(key, "b-type", _B_TYPE_WEIGHTS).cast(pl.UInt8),
            "b_new": rng.uniform(key, "b-new") < w.pw(0.25),
            "b_new_m": rng.below(key, "b-new-month", M),
            "b_pre": -1 - rng.below(key, "b-pre", _PRE_WINDOW_MONTHS),
            "b_end": rng.uniform(key, "b-end") < w.pw(0.25),
            "b_end_u": rng.uniform(key, "b-end-month"),
            "c_on": rng.uniform(key, "c") < 0.6,
            "c_partner": other_partner("c-partner"),
            "c_lag": rng.choice(key, "c-lag", [0.6, 0.3, 0.1]).cast(pl.Int64),
            "p_on": rng.uniform(key, "p") < 0.6,
            "p_partner": other_partner("p-partner"),
            "p_lag": rng.choice(key, "p-lag", [0.7, 0.3]).cast(pl.Int64),
            "p_pre": -1 - rng.below(key, "p-pre", _PRE_WINDOW_MONTHS),
        }
    )
    listed_like = pl.col("strategy") != 6  # association-only partners: plain, lasting holdings
    d = d.with_columns(
        a_start=pl.when(pl.col("first") >= 0)
        .then(pl.col("first") + pl.col("a_lag"))
        .when(pl.col("a_new"))
        .then(pl.col("a_new_m"))
        .otherwise(pl.col("a_pre")),
        b_start=pl.when(pl.col("b_new")).then(pl.col("b_new_m")).otherwise(pl.col("b_pre")),
    )
    d = d.with_columns(
        a_churn_end=pl.when(pl.col("a_churn") & (pl.col("a_start") < M))
        .then(pl.col("a_start").clip(0) + (pl.col("a_churn_u") * (M - pl.col("a_start").clip(0))).floor())
        .otherwise(NEVER),
        b_end=pl.when(pl.col("b_end") & (pl.col("b_start") < M))
        .then(pl.col("b_start").clip(0) + (pl.col("b_end_u") * (M - pl.col("b_start").clip(0))).floor())
        .otherwise(NEVER),
    )
    # CSP tier change: a CSP_T1 holding gets a CSP_T2 row from month t_start; the T1 row stays for
    # 0-2 more months, or for good (last choice), so both rows exist for a while.
    t_lo = pl.col("a_start").clip(0)
    t_hi = pl.min_horizontal(pl.col("a_churn_end"), pl.lit(M - 1))
    d = d.with_columns(
        t_on=pl.col("t_on") & (pl.col("a_type") == LOWER_TIER) & (t_lo <= t_hi) & listed_like,
        t_start=t_lo + (pl.col("t_u") * (t_hi - t_lo + 1)).floor(),
    )
    d = d.with_columns(
        a_end=pl.when(pl.col("t_on") & (pl.col("t_overlap") < 3))
        .then(pl.min_horizontal("a_churn_end", pl.col("t_start") + pl.col("t_overlap")))
        .otherwise(pl.col("a_churn_end")),
        b_on=pl.col("b_on") & listed_like,
        c_on=pl.col("c_on") & (pl.col("a_churn_end") < M - 1) & listed_like,
        c_start=pl.col("a_churn_end") + 1 + pl.col("c_lag"),
        c_type=pl.when(pl.col("a_type") == UPPER_TIER).then(pl.lit(LOWER_TIER, pl.UInt8)).otherwise(pl.col("a_type")),
        p_on=pl.col("p_on") & (pl.col("first") < 0) & (pl.col("a_start") >= 0) & listed_like,
        p_end=pl.col("a_start") - 1 - pl.col("p_lag"),
    )
    # (episode number, who holds it, the type, first and last month, which inclusion draw applies)
    episodes = (
        (d, 0, "home", "a_type", "a_start", "a_end", "A"),
        (d.filter("t_on"), 1, "home", pl.lit(UPPER_TIER, pl.UInt8), "t_start", "a_churn_end", "A"),
        (d.filter("b_on"), 2, "b_partner", "b_type", "b_start", "b_end", "B"),
        (d.filter("c_on"), 3, "c_partner", "c_type", "c_start", pl.lit(NEVER), "A"),
        (d.filter("p_on"), 4, "p_partner", "c_type", "p_pre", "p_end", "A"),
    )
    eps = pl.concat(
        [
            rows.select(
                "t", ep=pl.lit(ep, pl.UInt8), partner=partner, type=type_, start=start, end=end, incl=pl.lit(incl)
            )
            for rows, ep, partner, type_, start, end, incl in episodes
        ],
        how="vertical_relaxed",
    )
    # A tenant that leaves ends its associations with it.
    eps = eps.join(d.select("t", "last"), on="t", how="left", maintain_order="left")
    eps = eps.with_columns(end=pl.min_horizontal("end", "last")).drop("last")
    in_force = (pl.col("start") <= pl.col("end")) & (pl.col("start") < M) & (pl.col("end") >= 0)
    return eps.filter(in_force).with_columns(
        pl.col("partner").cast(pl.UInt32),
        pl.col("type").cast(pl.UInt8),
        pl.col("start").cast(pl.Int64),
        pl.col("end").cast(pl.Int64),
    )


def association_slots(w: World, tenants: pl.DataFrame, slots: pl.DataFrame) -> pl.DataFrame:
    """One row per (partner, tenant, workload, type) holding, with the months it is in force."""
    rng = w.rng
    eps = _episodes(w, tenants)
    strategy = tenants.select("t", "strategy")
    # The home partner's holding covers most of the tenant's workloads (each kept with 88 %); a
    # second partner covers about 60 %; successors and tier changes cover the home's set.
    sk = slots.select("t", "k", "wl", "skey")
    sk = sk.with_columns(
        u_a=rng.uniform(sk["skey"], "incl-A"),
        u_b=rng.uniform(sk["skey"], "incl-B"),
    ).join(strategy, on="t", how="left", maintain_order="left")
    rows = eps.join(sk, on="t", how="inner", maintain_order="left_right")
    rows = rows.filter(
        pl.when(pl.col("incl") == "A")
        .then((pl.col("u_a") < 0.88) | (pl.col("strategy") == 6))
        .otherwise(pl.col("u_b") < 0.6)
    ).select("t", "ep", "k", "wl", "partner", "type", "start", "end")
    # Now and then the home partner also holds a workload the tenant has no usage of.
    home = eps.filter(pl.col("ep") == 0)
    extra_on = rng.uniform(home["t"], "extra") < 0.10
    extra_wl = rng.below(home["t"], "extra-workload", w.n_eligible).cast(pl.UInt8)
    extra = home.with_columns(on=extra_on, wl=extra_wl, k=pl.lit(31, pl.UInt8)).filter("on")
    extra = extra.select("t", "ep", "k", "wl", "partner", "type", "start", "end")
    rows = pl.concat([rows, extra]).sort("t", "ep", "k")
    # A (partner, tenant, workload, type) key is held through one row at most.
    rows = rows.unique(subset=["partner", "t", "wl", "type"], keep="first", maintain_order=True)
    akey = pl.col("t").cast(pl.UInt64) * 256 + pl.col("ep").cast(pl.UInt64) * 32 + pl.col("k").cast(pl.UInt64)
    rows = rows.with_columns(akey=akey)
    # The association date: a day inside the start month (start < 0: before the window). The rows
    # of one holding mostly share a date; one in five has its own day of that month.
    ekey = rows["t"].cast(pl.UInt64) * 8 + rows["ep"].cast(pl.UInt64)
    day_u = rng.uniform(ekey, "assoc-day")
    jitter = rng.uniform(rows["akey"], "assoc-day-jitter")
    own = rng.uniform(rows["akey"], "assoc-day-own") < 0.2
    rows = rows.with_columns(
        day_u=pl.when(own).then(jitter).otherwise(day_u),
    )
    return rows.select(
        partner_id=partner_id(pl.col("partner")),
        tenant_id=tenant_id(pl.col("t")),
        akey=pl.col("akey"),
        wl=pl.col("wl"),
        type=pl.col("type"),
        start=pl.col("start").cast(pl.Int16),
        end=pl.col("end").clip(upper_bound=NEVER).cast(pl.Int16),
        associated_on=day_in_month(pl.lit(w.start_number) + pl.col("start"), pl.col("day_u")),
    )


def associations_month(w: World, assoc: pl.DataFrame, m: int) -> pl.DataFrame:
    """The chunk's association rows in force in month ``m``."""
    d = assoc.filter((pl.col("start") <= m) & (pl.col("end") >= m))
    if d.height == 0:
        return pl.DataFrame(schema=ASSOCIATIONS_COLUMNS)
    d = d.with_columns(
        name_noise=w.rng.uniform(d["akey"], "assoc-name", m),
        type_noise=w.rng.uniform(d["akey"], "assoc-type", m),
    )
    tname = pl.col("type").replace_strict(dict(enumerate(w.type_names)), return_dtype=pl.String)
    return d.select(
        partner_id=pl.col("partner_id"),
        tenant_id=pl.col("tenant_id"),
        workload=spell_workload(w, pl.col("wl"), pl.col("name_noise"), m),
        association_type=pl.when(pl.col("type_noise") < _TYPE_NOISE).then(tname.str.to_lowercase()).otherwise(tname),
        associated_on=pl.col("associated_on"),
    )
