"""The partners: one row per partner (strategy, number of tenants and of certified people,
first tenant) and the names written to partners.csv."""

from __future__ import annotations

import polars as pl

from pcs.generate.world import World, per_group

# Partner strategies. "unlisted_assoc" / "unlisted_cert" are the few partners that are missing from
# partners.csv and appear only in associations / only in certifications.
STRATEGIES = ("enterprise", "smb", "growing", "churning", "cert_rich", "mixed", "unlisted_assoc", "unlisted_cert")
_STRATEGY_WEIGHTS = (0.15, 0.30, 0.12, 0.10, 0.05, 0.28)  # of the listed partners
_PERSONS_MU = (1.1, 0.6, 0.8, 0.6, 2.6, 0.8, -9.0, 0.4)  # log median persons, before the size term

_PARTNER_WORDS = (
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Tailspin",
    "Adatum",
    "Litware",
    "Proseware",
    "Woodgrove",
    "Wingtip",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Humongous",
    "Lucerne",
    "Margie's",
    "Trey",
    "Wide World",
    "Fourth Coffee",
    "Relecloud",
    "Zürich",
    "Société Générale de",
    "São Paulo",
    "Kraków",
    "Malmö",
    "Nordic",
    "Pacific",
    "Atlas",
    "Summit",
    "Harbor",
    "Evergreen",
)
_PARTNER_CORES = (
    "Cloud",
    "IT",
    "Digital",
    "Systems",
    "Consulting",
    "Networks",
    "Technologies",
    "Modern Work",
    "Partners",
    "Group",
    "Data",
    "Informatique",
    "Solutions",
    "Services",
)
_PARTNER_SUFFIXES = (
    "",
    " Ltd",
    ", Inc.",
    " GmbH",
    " SAS",
    " Pty Ltd",
    " LLC",
    " AB",
    " K.K.",
    ' "365"',
    " & Co.",
    " S.A.",
)


def partner_table(w: World, unlisted_assoc: int, unlisted_cert: int) -> pl.DataFrame:
    """One row per partner (listed first, then the unlisted ones): strategy, size, tenant offset."""
    rng = w.rng
    n = w.listed + unlisted_assoc + unlisted_cert
    p = pl.Series("p", range(n), dtype=pl.UInt32)
    strategy = rng.choice(p, "strategy", _STRATEGY_WEIGHTS).cast(pl.UInt8)
    strategy = (
        pl.DataFrame({"p": p, "s": strategy})
        .select(
            pl.when(pl.col("p") >= w.listed + unlisted_assoc)
            .then(pl.lit(7, pl.UInt8))
            .when(pl.col("p") >= w.listed)
            .then(pl.lit(6, pl.UInt8))
            .otherwise(pl.col("s"))
        )
        .to_series()
    )
    # Tenants: log-normal, median ~5, mean ~15, a few partners with thousands.
    size = (1.67 + 1.5 * rng.normal(p, "size")).exp().floor().clip(0, 5000).cast(pl.Int64)
    small = rng.below(p, "size-small", 3)  # cert-rich, customer-poor partners: 0-2 tenants
    ghost = 1 + rng.below(p, "size-ghost", 4)
    df = pl.DataFrame({"p": p, "strategy": strategy, "size": size, "small": small, "ghost": ghost})
    df = df.with_columns(
        n_tenants=pl.when(pl.col("strategy") == 4)
        .then(pl.col("small"))
        .when(pl.col("strategy") == 6)
        .then(pl.col("ghost"))
        .when(pl.col("strategy") == 7)
        .then(0)
        .otherwise(pl.col("size"))
        .cast(pl.Int64)
    )
    # People with certifications: grows with the partner's size; cert-rich partners have many.
    mu = per_group(_PERSONS_MU, df["strategy"]) + 0.45 * (1 + df["n_tenants"].cast(pl.Float64)).log()
    persons = (mu + 0.8 * rng.normal(p, "persons")).exp().floor().clip(0, 999).cast(pl.Int64)
    persons_ghost = 1 + rng.below(p, "persons-ghost", 3)
    df = df.with_columns(
        n_persons=pl.when(pl.col("strategy") == 7).then(persons_ghost).otherwise(persons),
        empty_name=(rng.uniform(p, "empty-name") < 0.025) | (p % 50 == 3),
    )
    return df.with_columns(tenant0=pl.col("n_tenants").cum_sum() - pl.col("n_tenants")).drop("size", "small", "ghost")


def partner_names(w: World, p: pl.Series, empty: pl.Series) -> pl.Series:
    rng = w.rng
    word = rng.below(p, "name-word", len(_PARTNER_WORDS))
    core = rng.below(p, "name-core", len(_PARTNER_CORES))
    suffix = rng.choice(p, "name-suffix", [6, 3, 2, 2, 1, 1, 1, 1, 0.5, 0.3, 0.3, 0.5])
    return (
        pl.DataFrame({"w": word, "c": core, "s": suffix, "e": empty})
        .select(
            pl.when(pl.col("e"))
            .then(pl.lit(None, pl.String))  # written as an empty field
            .otherwise(
                pl.concat_str(
                    pl.col("w").replace_strict(dict(enumerate(_PARTNER_WORDS)), return_dtype=pl.String),
                    pl.lit(" "),
                    pl.col("c").replace_strict(dict(enumerate(_PARTNER_CORES)), return_dtype=pl.String),
                    pl.col("s").replace_strict(dict(enumerate(_PARTNER_SUFFIXES)), return_dtype=pl.String),
                )
            )
        )
        .to_series()
    )
