"""The certifications of a chunk of partners' people: names (with spelling noise), earned and
expiry dates."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pcs.generate.world import World, partner_id
from scoring.calendar import add_months, month_end

_CERT_NAME_NOISE = 0.03


def certification_rows(w: World, chunk: pl.DataFrame) -> pl.DataFrame:
    """Certification events of the chunk's partners' people."""
    rng = w.rng
    persons = (
        chunk.filter(pl.col("n_persons") > 0)
        .select("p", person=pl.int_ranges(0, pl.col("n_persons"), dtype=pl.UInt32))
        .explode("person")
    )
    pkey = persons["p"].cast(pl.UInt64) * 1024 + persons["person"].cast(pl.UInt64)
    persons = persons.with_columns(n=rng.choice(pkey, "certs-per-person", [0.45, 0.3, 0.15, 0.1]).cast(pl.UInt8) + 1)
    c = persons.select("p", "person", i=pl.int_ranges(0, pl.col("n"), dtype=pl.UInt8)).explode("i")
    ckey = c["p"].cast(pl.UInt64) * 8192 + c["person"].cast(pl.UInt64) * 8 + c["i"].cast(pl.UInt64)
    names = w.cert_names
    name_i = rng.choice(ckey, "cert-name", w.cert_weights)
    noise = rng.uniform(ckey, "cert-name-noise")
    # Earned any day from 2016-01-01 to the window's last day.
    first_day = dt.date(2016, 1, 1)
    last_day = month_end(add_months(w.start, w.months - 1))
    span = max((last_day - first_day).days + 1, 1)
    earned_off = rng.below(ckey, "earned", span)
    kind = rng.choice(ckey, "expiry-kind", [0.35, 0.5, 0.15])  # none, ~yearly, a month's end
    years = 1 + rng.below(ckey, "expiry-years", 3)
    jitter = rng.below(ckey, "expiry-jitter", 61) - 30
    c = c.with_columns(
        name=pl.Series(names).gather(name_i),
        noise=noise,
        earned_on=pl.lit(first_day) + pl.duration(days=earned_off),
        kind=kind,
        years=years,
        jitter=jitter,
    )
    c = c.with_columns(
        expires_on=pl.when(pl.col("kind") == 1)
        .then(pl.col("earned_on") + pl.duration(days=365 * pl.col("years") + pl.col("jitter")))
        .when(pl.col("kind") == 2)
        .then(pl.col("earned_on").dt.offset_by(pl.format("{}mo", 12 * pl.col("years"))).dt.month_end())
        .otherwise(None),
    )
    if w.counts_through:  # across a rule change: retiring certifications around their dates
        c = _around_counts_through(w, c, ckey)
    r = _CERT_NAME_NOISE
    name = pl.col("name")
    spelled = (
        pl.when(pl.col("noise") < r / 3)
        .then(name.str.to_lowercase())
        .when(pl.col("noise") < 2 * r / 3)
        .then(pl.concat_str(pl.lit(" "), name, pl.lit(" ")))
        .when(pl.col("noise") < r)
        .then(name.str.to_uppercase())
        .otherwise(name)
    )
    return c.select(
        partner_id=partner_id(pl.col("p")),
        person_id=pl.concat_str(partner_id(pl.col("p")), pl.lit("-"), pl.col("person").cast(pl.String).str.zfill(3)),
        certification=spelled,
        earned_on=pl.col("earned_on"),
        expires_on=pl.col("expires_on"),
    )


def _around_counts_through(w: World, c: pl.DataFrame, ckey: pl.Series) -> pl.DataFrame:
    """Some holders of a retiring certification lose it within three days of its counts-through
    date, others earn it in the weeks around that date."""
    u = w.rng.uniform(ckey, "retiring")
    shift = w.rng.below(ckey, "retiring-day", 7) - 3
    earned_shift = w.rng.below(ckey, "retiring-earned", 61) - 45
    through = pl.col("name").replace_strict(w.counts_through, default=None, return_dtype=pl.Date)
    c = c.with_columns(u=u, shift=shift, earned_shift=earned_shift)
    c = c.with_columns(
        expires_on=pl.when(through.is_not_null() & (pl.col("u") < 0.4))
        .then(through + pl.duration(days=pl.col("shift")))
        .otherwise(pl.col("expires_on")),
        earned_on=pl.when(through.is_not_null() & (pl.col("u") >= 0.4) & (pl.col("u") < 0.6))
        .then(through + pl.duration(days=pl.col("earned_shift")))
        .otherwise(pl.col("earned_on")),
    )
    return c.with_columns(
        expires_on=pl.when(pl.col("expires_on") > pl.col("earned_on")).then(pl.col("expires_on")).otherwise(None)
    ).drop("u", "shift", "earned_shift")
