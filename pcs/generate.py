"""Synthetic program data for the Solutions Partner for Modern Work score.

``generate`` writes a data folder in the layout of ``input-data.md``::

    out_dir/partners.csv
    out_dir/certifications.csv
    out_dir/months/YYYY-MM/workload_usage.(csv|parquet)
    out_dir/months/YYYY-MM/associations.(csv|parquet)

The data is meant to exercise the scoring rules: partners of very different sizes (heavy-tailed)
and strategies, tenants in both tracks' seat bands and on the band boundaries (10, 11, 300, 301),
active users drifting around the 40 % deployment line, associations that start inside the scoring
window (association-time baselines), partners switching on a tenant, CSP tier changes that leave a
workload held through both ``CSP_T1`` and ``CSP_T2`` rows, associations on workloads with no
usage, spelling noise in names (case, stray spaces) that never breaks a uniqueness rule, and
certifications that expire (some exactly on a month's last day) or never do.

How it works, and why it streams:

* Randomness is *counter based*: every random number is a hash (splitmix64, on UInt64 columns)
  of ``(seed, stream name, entity key[, month])``. Nothing depends on the order in which things
  are drawn, so the output is a pure function of the arguments: the same seed gives
  byte-identical files, and the partner chunk size does not change a byte either.
* The partner registry (one small row per partner) is drawn first. Then partners are processed in
  chunks: each chunk's tenants, usage *slots* (one per tenant and workload, with the parameters of
  its seat and adoption curves) and association *slots* (one per partner, tenant, workload and
  type, with the months it is in force) are drawn into compact Polars frames, and the chunk's
  certification rows are appended to ``certifications.csv``.
* Month files are then written one month at a time, chunk by chunk, appending to the open file:
  a month's rows are a vectorised function of the slots and the month index (seat changes,
  adoption trend plus monthly noise, spelling noise), so no month is ever held in full.

Memory: the kept state is about 50 bytes per usage slot and 35 bytes per association slot (about
2.9 and 3.8 per tenant), i.e. ~80 MB for 20,000 partners (300,000 tenants) and ~400 MB for 100,000
partners, plus one partner chunk's rows at a time. Measured peak RSS of the whole process: 0.34 GB
for 20,000 partners x 24 months, 0.74 GB for 100,000 partners (it does not grow with the months).
Time on 2 cores: ~14 s for 20,000 partners x 24 months (1.44 GB of CSV; up to 30 s when the
machine is busy), about 2 s of it drawing the state and 0.5 s per month.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from scoring.rulebook import Rulebook, load_rulebooks

__all__ = ["GenerateSummary", "generate"]

# ---- knobs of the synthetic world -----------------------------------------------------------

INELIGIBLE_WORKLOADS = (
    "Dynamics 365",
    "Power BI",
    "Azure AD Premium",
    "Dynamics 365 Sales",
    "Windows 365",
    "Defender for Endpoint",
)
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
INELIGIBLE_CERTIFICATIONS = (
    "Microsoft Certified: Azure Fundamentals",
    "Microsoft Certified: Azure Administrator Associate",
    "Microsoft Certified: Power Platform Fundamentals",
    "Microsoft 365 Certified: Security Administrator Associate",
    "Microsoft 365 Certified: Teams Administrator",  # a near miss: not the eligible name
    "Microsoft Certified: Dynamics 365 Fundamentals",
)
ASSOCIATION_TYPES = ("CPOR", "DPOR", "CSP_T1", "CSP_T2")  # fallback order; rulebook wins
_CPOR, _DPOR, _CSP_T1, _CSP_T2 = range(4)

# Partner strategies. "unlisted_assoc" / "unlisted_cert" are the few partners that are missing from
# partners.csv and appear only in associations / only in certifications.
STRATEGIES = ("enterprise", "smb", "growing", "churning", "cert_rich", "mixed", "unlisted_assoc", "unlisted_cert")
_STRATEGY_WEIGHTS = (0.15, 0.30, 0.12, 0.10, 0.05, 0.28)  # of the listed partners
_P_ENTERPRISE_TENANT = (0.85, 0.06, 0.35, 0.35, 0.2, 0.4, 0.5, 0.0)  # tenant size from the big mode
_P_NEW_TENANT = (0.04, 0.06, 0.40, 0.02, 0.05, 0.07, 0.0, 0.0)  # tenant appears inside the window
_P_NEW_ASSOC = (0.10, 0.14, 0.35, 0.05, 0.10, 0.14, 0.0, 0.0)  # existing tenant, new association
_P_END_ASSOC = (0.05, 0.10, 0.03, 0.45, 0.10, 0.08, 0.0, 0.0)  # association ends inside the window
_P_LEAVE = (0.03, 0.05, 0.01, 0.10, 0.03, 0.04, 0.0, 0.0)  # tenant disappears inside the window
_SLOPE = (0.003, 0.0, 0.012, -0.012, 0.0, 0.0, 0.0, 0.0)  # mean monthly adoption drift
_SEAT_DRIFT = (0.02, 0.0, 0.18, -0.18, 0.0, 0.0, 0.0, 0.0)  # mean log factor of a seat change
_PERSONS_MU = (1.1, 0.6, 0.8, 0.6, 2.6, 0.8, -9.0, 0.4)  # log median persons, before the size term
_A_TYPE_WEIGHTS = (  # the home partner's association type (CPOR, DPOR, CSP_T1, CSP_T2)
    (0.50, 0.42, 0.06, 0.02),
    (0.35, 0.05, 0.45, 0.15),
    (0.35, 0.20, 0.35, 0.10),
    (0.35, 0.25, 0.30, 0.10),
    (0.40, 0.20, 0.30, 0.10),
    (0.35, 0.20, 0.33, 0.12),
    (0.40, 0.20, 0.30, 0.10),
    (0.40, 0.20, 0.30, 0.10),
)
_B_TYPE_WEIGHTS = (0.32, 0.18, 0.35, 0.15)  # a second partner's association type
_PRE_WINDOW_MONTHS = 84  # associations made before the window go back up to seven years
_MAX_SEATS = 50_000
_NEVER = 32_000  # "does not happen" as a month index
_NAME_NOISE = 0.006  # share of rows whose workload is spelled oddly (case, stray space)
_TYPE_NOISE = 0.004  # share of association rows whose type is written in lower case
_CERT_NAME_NOISE = 0.03

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

# ---- output shapes --------------------------------------------------------------------------

PARTNERS_COLUMNS = {"partner_id": pl.String, "partner_name": pl.String}
CERTIFICATIONS_COLUMNS = {
    "partner_id": pl.String,
    "person_id": pl.String,
    "certification": pl.String,
    "earned_on": pl.Date,
    "expires_on": pl.Date,
}
USAGE_COLUMNS = {"tenant_id": pl.String, "workload": pl.String, "paid_seats": pl.Int64, "active_users": pl.Int64}
ASSOCIATIONS_COLUMNS = {
    "partner_id": pl.String,
    "tenant_id": pl.String,
    "workload": pl.String,
    "association_type": pl.String,
    "associated_on": pl.Date,
}


@dataclass(frozen=True)
class GenerateSummary:
    out_dir: Path
    fmt: str
    months: int
    partners: int  # rows of partners.csv
    unlisted_partners: int  # partners only in associations or only in certifications
    tenants: int
    usage_rows: int  # over all months
    association_rows: int  # over all months
    certification_rows: int
    bytes_written: int
    seconds: float


# ---- counter-based randomness ---------------------------------------------------------------

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB


def _mix_int(x: int) -> int:
    """splitmix64's finaliser on a Python int."""
    x &= _M64
    x = ((x ^ (x >> 30)) * _C1) & _M64
    x = ((x ^ (x >> 27)) * _C2) & _M64
    return x ^ (x >> 31)


def _u64(v: int) -> pl.Expr:
    return pl.lit(v, dtype=pl.UInt64)


class _Rng:
    """Random numbers as pure functions of (seed, stream, key): no state, no draw order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _stream(self, stream: str, month: int) -> int:
        s = _mix_int(zlib.crc32(stream.encode()) * _GOLDEN + (month + 1) * _C2)
        return _mix_int(s ^ _mix_int(self.seed * _C1 + 0x632BE59BD9B4E019))

    def bits(self, key: pl.Series, stream: str, month: int = -1) -> pl.Series:
        """64 random bits per key (UInt64)."""
        f = key.cast(pl.UInt64).to_frame("x")
        f = f.select(x=pl.col("x") * _u64(_GOLDEN) + _u64(self._stream(stream, month)))
        f = f.select(x=(pl.col("x") ^ (pl.col("x") // _u64(1 << 30))) * _u64(_C1))
        f = f.select(x=(pl.col("x") ^ (pl.col("x") // _u64(1 << 27))) * _u64(_C2))
        return f.select(x=pl.col("x") ^ (pl.col("x") // _u64(1 << 31))).to_series()

    def uniform(self, key: pl.Series, stream: str, month: int = -1) -> pl.Series:
        """Uniform in [0, 1), Float64."""
        b = self.bits(key, stream, month)
        return (b // (1 << 11)).cast(pl.Float64) * (2.0**-53)

    def uniform2(self, key: pl.Series, stream: str, month: int = -1) -> tuple[pl.Series, pl.Series]:
        """Two independent uniforms in (0, 1) from one hash (32 bits each)."""
        b = self.bits(key, stream, month)
        hi = ((b // (1 << 32)).cast(pl.Float64) + 0.5) * (2.0**-32)
        lo = ((b % (1 << 32)).cast(pl.Float64) + 0.5) * (2.0**-32)
        return hi, lo

    def normal(self, key: pl.Series, stream: str, month: int = -1) -> pl.Series:
        u1, u2 = self.uniform2(key, stream, month)
        return (-2.0 * u1.log()).sqrt() * (2.0 * math.pi * u2).cos()

    def below(self, key: pl.Series, stream: str, n: int | pl.Series, month: int = -1) -> pl.Series:
        """Uniform integer in [0, n) (n may be a per-row Series), Int64."""
        return (self.uniform(key, stream, month) * n).floor().cast(pl.Int64)

    def choice(self, key: pl.Series, stream: str, weights: Sequence[float], month: int = -1) -> pl.Series:
        """Index into ``weights``, drawn with those relative weights (UInt32)."""
        total = float(sum(weights))
        cum, acc = [], 0.0
        for w in weights[:-1]:
            acc += w / total
            cum.append(acc)
        u = self.uniform(key, stream, month)
        return pl.Series(cum, dtype=pl.Float64).search_sorted(u, side="right").cast(pl.UInt32)

    def choice_by(self, key: pl.Series, stream: str, group: pl.Series, table: Sequence[Sequence[float]]) -> pl.Series:
        """Like ``choice``, with the weights ``table[group]`` of each row's group (UInt8)."""
        u = self.uniform(key, stream)
        idx = pl.zeros(len(u), dtype=pl.UInt8, eager=True)
        k = len(table[0])
        cums = []
        for row in table:
            total = float(sum(row))
            acc, cum = 0.0, []
            for w in row[:-1]:
                acc += w / total
                cum.append(acc)
            cums.append(cum)
        for j in range(k - 1):
            thr = pl.Series([c[j] for c in cums], dtype=pl.Float64).gather(group)
            idx = idx + (u >= thr).cast(pl.UInt8)
        return idx


def _per_window(p: float, months: int) -> float:
    """Chance that something with chance ``p`` per 24 months happens within ``months`` months
    (the rates of the synthetic world are per month, whatever the window's length)."""
    return 1.0 - (1.0 - p) ** (months / 24)


def _per_group(values: Sequence[float], group: pl.Series) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64).gather(group)


# ---- calendar helpers -----------------------------------------------------------------------


def _parse_start(start: str) -> int:
    """'YYYY-MM' -> absolute month number (year * 12 + month - 1)."""
    try:
        d = dt.datetime.strptime(start, "%Y-%m")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"start must be a month YYYY-MM, not {start!r}") from exc
    return d.year * 12 + d.month - 1


def _first_of(abs_month: pl.Expr) -> pl.Expr:
    return pl.date(abs_month // 12, abs_month % 12 + 1, 1)


def _date_in_month(abs_month: pl.Expr, frac: pl.Expr) -> pl.Expr:
    """A day of the month ``abs_month``: ``frac`` in [0, 1) picks it."""
    first = _first_of(abs_month)
    dim = first.dt.month_end().dt.day().cast(pl.Int64)
    return first + pl.duration(days=(frac * dim).floor().cast(pl.Int64).clip(0, dim - 1))


def _month_label(abs_month: int) -> str:
    return f"{abs_month // 12:04d}-{abs_month % 12 + 1:02d}"


# ---- writers --------------------------------------------------------------------------------


class _TableSink:
    """Appends frames to one CSV or Parquet file; the file exists (with its header) once closed."""

    def __init__(self, path: Path, fmt: str, columns: dict[str, pl.DataType]) -> None:
        self.path, self.fmt, self.columns = path, fmt, columns
        self.rows = 0
        self._empty = pl.DataFrame(schema=columns)
        if fmt == "csv":
            self._fh = open(path, "wb")  # noqa: SIM115 (closed by close(), after many writes)
            self._header = True
        else:
            import pyarrow.parquet as pq

            self._pw = pq.ParquetWriter(path, self._empty.to_arrow().schema, compression="zstd")

    def write(self, df: pl.DataFrame) -> None:
        if df.height == 0:
            return
        df = df.select([pl.col(c).cast(t) for c, t in self.columns.items()])
        self.rows += df.height
        if self.fmt == "csv":
            df.write_csv(self._fh, include_header=self._header)
            self._header = False
        else:
            self._pw.write_table(df.to_arrow())

    def close(self) -> int:
        """Closes the file and returns its size in bytes."""
        if self.fmt == "csv":
            if self._header:
                self._empty.write_csv(self._fh)
            self._fh.close()
        else:
            self._pw.close()
        return self.path.stat().st_size


# ---- the generator --------------------------------------------------------------------------


@dataclass(frozen=True)
class _World:
    """The fixed parameters of one generation run."""

    rng: _Rng
    months: int
    start_abs: int  # absolute month number of the first month
    listed: int  # partners in partners.csv
    assoc_pool: int  # partners a second association may come from (listed + association-only)
    workload_names: tuple[str, ...]  # eligible first, then ineligible
    n_eligible: int
    type_names: tuple[str, ...]  # CPOR, DPOR, CSP_T1, CSP_T2 as the rulebook spells them
    cert_names: tuple[str, ...]
    cert_weights: tuple[float, ...]

    def pw(self, p: float) -> float:
        return _per_window(p, self.months)

    def pw_group(self, values: Sequence[float], group: pl.Series) -> pl.Series:
        return _per_group([self.pw(v) for v in values], group)


def _make_world(rulebook: Rulebook, seed: int, partners: int, unlisted_assoc: int, months: int, start: str) -> _World:
    eligible = tuple(rulebook.eligible_workloads)
    folded = {w.strip().casefold() for w in eligible}
    ineligible = tuple(w for w in INELIGIBLE_WORKLOADS if w.casefold() not in folded)
    types = {t.upper() for t in rulebook.association_types}
    type_names = tuple(t for t in ASSOCIATION_TYPES if t in types)
    if len(type_names) != 4:
        raise ValueError(f"the rulebook's association types {sorted(types)} are not CPOR, DPOR, CSP_T1, CSP_T2")
    inter, adv = tuple(rulebook.intermediate_certifications), tuple(rulebook.advanced_certifications)
    aliases = tuple(rulebook.certification_aliases)
    known = {c.casefold() for c in inter + adv + aliases}
    inel = tuple(c for c in INELIGIBLE_CERTIFICATIONS if c.casefold() not in known)
    names = inter + aliases + adv + inel
    weights = (
        tuple(0.50 / len(inter) for _ in inter)
        + tuple(0.05 / max(len(aliases), 1) for _ in aliases)
        + tuple(0.17 / len(adv) for _ in adv)
        + tuple(0.28 / max(len(inel), 1) for _ in inel)
    )
    return _World(
        rng=_Rng(seed),
        months=months,
        start_abs=_parse_start(start),
        listed=partners,
        assoc_pool=partners + unlisted_assoc,
        workload_names=eligible + ineligible,
        n_eligible=len(eligible),
        type_names=type_names,
        cert_names=names,
        cert_weights=weights,
    )


def _partner_table(w: _World, unlisted_assoc: int, unlisted_cert: int) -> pl.DataFrame:
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
    mu = _per_group(_PERSONS_MU, df["strategy"]) + 0.45 * (1 + df["n_tenants"].cast(pl.Float64)).log()
    persons = (mu + 0.8 * rng.normal(p, "persons")).exp().floor().clip(0, 999).cast(pl.Int64)
    persons_ghost = 1 + rng.below(p, "persons-ghost", 3)
    df = df.with_columns(
        n_persons=pl.when(pl.col("strategy") == 7).then(persons_ghost).otherwise(persons),
        empty_name=(rng.uniform(p, "empty-name") < 0.025) | (p % 50 == 3),
    )
    return df.with_columns(tenant0=pl.col("n_tenants").cum_sum() - pl.col("n_tenants")).drop("size", "small", "ghost")


def _partner_names(w: _World, p: pl.Series, empty: pl.Series) -> pl.Series:
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


def _partner_id(p: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("P"), p.cast(pl.String).str.zfill(6))


def _tenant_id(t: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("T"), t.cast(pl.String).str.zfill(7))


def _tenants(w: _World, chunk: pl.DataFrame) -> pl.DataFrame:
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
    big = rng.uniform(key, "big") < _per_group(_P_ENTERPRISE_TENANT, s)
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
            .otherwise(_NEVER)
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


def _usage_slots(w: _World, tenants: pl.DataFrame) -> pl.DataFrame:
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
    drift = _per_group(_SEAT_DRIFT, strat)
    a0 = rng.uniform(key, "adoption")
    a0 = 0.03 + 0.92 * a0 * (0.6 + 0.4 * a0)  # a little more mass below the 40 % line
    slope = _per_group(_SLOPE, strat) + 0.006 * rng.normal(key, "slope")
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
        c1=pl.when(~frozen & (pl.col("u_c1") < w.pw(0.25))).then(pl.col("m_c1")).otherwise(_NEVER),
        c2=pl.when(~frozen & (pl.col("u_c2") < w.pw(0.10))).then(pl.col("m_c2")).otherwise(_NEVER),
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
        .otherwise(_NEVER),
    ).with_columns(u_end=pl.min_horizontal("u_end", "last"))
    return s.select(
        t=pl.col("t"),
        tenant_id=_tenant_id(pl.col("t")),
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


def _episodes(w: _World, tenants: pl.DataFrame) -> pl.DataFrame:
    """Per tenant, who holds it when: the home partner (A), its CSP tier change (T), a second
    partner (B), after the home partner churns a successor (C), and before a home partner that
    took over an existing tenant inside the window its predecessor (P). Month indexes are
    relative to the window's first month; ``_NEVER`` means it does not end."""
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
        .otherwise(_NEVER),
        b_end=pl.when(pl.col("b_end") & (pl.col("b_start") < M))
        .then(pl.col("b_start").clip(0) + (pl.col("b_end_u") * (M - pl.col("b_start").clip(0))).floor())
        .otherwise(_NEVER),
    )
    # CSP tier change: a CSP_T1 holding gets a CSP_T2 row from month t_start; the T1 row stays for
    # 0-2 more months, or for good (last choice), so both rows exist for a while.
    t_lo = pl.col("a_start").clip(0)
    t_hi = pl.min_horizontal(pl.col("a_churn_end"), pl.lit(M - 1))
    d = d.with_columns(
        t_on=pl.col("t_on") & (pl.col("a_type") == _CSP_T1) & (t_lo <= t_hi) & listed_like,
        t_start=t_lo + (pl.col("t_u") * (t_hi - t_lo + 1)).floor(),
    )
    d = d.with_columns(
        a_end=pl.when(pl.col("t_on") & (pl.col("t_overlap") < 3))
        .then(pl.min_horizontal("a_churn_end", pl.col("t_start") + pl.col("t_overlap")))
        .otherwise(pl.col("a_churn_end")),
        b_on=pl.col("b_on") & listed_like,
        c_on=pl.col("c_on") & (pl.col("a_churn_end") < M - 1) & listed_like,
        c_start=pl.col("a_churn_end") + 1 + pl.col("c_lag"),
        c_type=pl.when(pl.col("a_type") == _CSP_T2).then(pl.lit(_CSP_T1, pl.UInt8)).otherwise(pl.col("a_type")),
        p_on=pl.col("p_on") & (pl.col("first") < 0) & (pl.col("a_start") >= 0) & listed_like,
        p_end=pl.col("a_start") - 1 - pl.col("p_lag"),
    )
    cols = ["t", "ep", "partner", "type", "start", "end", "incl"]
    a = d.select(
        "t",
        ep=pl.lit(0, pl.UInt8),
        partner="home",
        type="a_type",
        start="a_start",
        end="a_end",
        incl=pl.lit("A"),
    )
    t2 = d.filter("t_on").select(
        "t",
        ep=pl.lit(1, pl.UInt8),
        partner="home",
        type=pl.lit(_CSP_T2, pl.UInt8),
        start="t_start",
        end="a_churn_end",
        incl=pl.lit("A"),
    )
    b = d.filter("b_on").select(
        "t",
        ep=pl.lit(2, pl.UInt8),
        partner="b_partner",
        type="b_type",
        start="b_start",
        end="b_end",
        incl=pl.lit("B"),
    )
    c = d.filter("c_on").select(
        "t",
        ep=pl.lit(3, pl.UInt8),
        partner="c_partner",
        type="c_type",
        start="c_start",
        end=pl.lit(_NEVER),
        incl=pl.lit("A"),
    )
    pred = d.filter("p_on").select(
        "t",
        ep=pl.lit(4, pl.UInt8),
        partner="p_partner",
        type="c_type",
        start="p_pre",
        end="p_end",
        incl=pl.lit("A"),
    )
    eps = pl.concat([x.select(cols) for x in (a, t2, b, c, pred)], how="vertical_relaxed")
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


def _association_slots(w: _World, tenants: pl.DataFrame, slots: pl.DataFrame) -> pl.DataFrame:
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
        partner_id=_partner_id(pl.col("partner")),
        tenant_id=_tenant_id(pl.col("t")),
        akey=pl.col("akey"),
        wl=pl.col("wl"),
        type=pl.col("type"),
        start=pl.col("start").cast(pl.Int16),
        end=pl.col("end").clip(upper_bound=_NEVER).cast(pl.Int16),
        associated_on=_date_in_month(pl.lit(w.start_abs) + pl.col("start"), pl.col("day_u")),
    )


def _certifications(w: _World, chunk: pl.DataFrame) -> pl.DataFrame:
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
    end_abs = w.start_abs + w.months
    last_day = dt.date(end_abs // 12, end_abs % 12 + 1, 1) - dt.timedelta(days=1)
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
        partner_id=_partner_id(pl.col("p")),
        person_id=pl.concat_str(_partner_id(pl.col("p")), pl.lit("-"), pl.col("person").cast(pl.String).str.zfill(3)),
        certification=spelled,
        earned_on=pl.col("earned_on"),
        expires_on=pl.col("expires_on"),
    )


def _spell_workload(w: _World, wl: pl.Expr, noise: pl.Expr) -> pl.Expr:
    """The workload's name, now and then in another case or with a stray space."""
    name = wl.replace_strict(dict(enumerate(w.workload_names)), return_dtype=pl.String)
    r = _NAME_NOISE
    return (
        pl.when(noise >= r)
        .then(name)
        .when(noise < r / 4)
        .then(name.str.to_lowercase())
        .when(noise < r / 2)
        .then(pl.concat_str(pl.lit(" "), name))
        .when(noise < 3 * r / 4)
        .then(pl.concat_str(name, pl.lit(" ")))
        .otherwise(name.str.to_uppercase())
    )


def _usage_month(w: _World, slots: pl.DataFrame, m: int) -> pl.DataFrame:
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
        workload=_spell_workload(w, pl.col("wl"), pl.col("name_noise")),
        paid_seats=pl.col("paid_seats"),
        active_users=(base.cast(pl.Float64) * adoption).round().cast(pl.Int64),
    )


def _associations_month(w: _World, assoc: pl.DataFrame, m: int) -> pl.DataFrame:
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
        workload=_spell_workload(w, pl.col("wl"), pl.col("name_noise")),
        association_type=pl.when(pl.col("type_noise") < _TYPE_NOISE).then(tname.str.to_lowercase()).otherwise(tname),
        associated_on=pl.col("associated_on"),
    )


def _prepare_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is not a directory")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty (pass overwrite=True to replace its data)")
        for name in ("partners", "certifications"):
            for ext in ("csv", "parquet"):
                (out / f"{name}.{ext}").unlink(missing_ok=True)
        if (out / "months").exists():
            shutil.rmtree(out / "months")
    out.mkdir(parents=True, exist_ok=True)


def generate(
    out_dir: str | Path,
    *,
    partners: int,
    months: int = 24,
    start: str = "2023-01",
    seed: int = 0,
    fmt: Literal["csv", "parquet"] = "csv",
    progress: Callable[[str], None] | None = None,
    chunk_partners: int = 5000,
    overwrite: bool = False,
) -> GenerateSummary:
    """Writes a synthetic data folder for ``partners`` listed partners over ``months`` months
    from ``start`` (YYYY-MM). Deterministic: the same arguments give byte-identical files
    (``chunk_partners`` only bounds memory and does not change the output). ``fmt`` applies to the
    month files; partners and certifications are always CSV. ``out_dir`` must be empty or absent
    unless ``overwrite``, which replaces the data files (and only those) already there."""
    t0 = time.perf_counter()
    if isinstance(partners, bool) or not isinstance(partners, int) or partners < 1:
        raise ValueError(f"partners must be a whole number >= 1, not {partners!r}")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 600:
        raise ValueError(f"months must be a whole number from 1 to 600, not {months!r}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, not {seed!r}")
    if chunk_partners < 1:
        raise ValueError("chunk_partners must be >= 1")
    say = progress or (lambda _msg: None)
    out = Path(out_dir)

    unlisted_assoc = max(1, partners // 1000)
    unlisted_cert = max(1, partners // 1000)
    w = _make_world(load_rulebooks().versions[-1], seed, partners, unlisted_assoc, months, start)
    _prepare_out_dir(out, overwrite)

    ptable = _partner_table(w, unlisted_assoc, unlisted_cert)
    listed = ptable.filter(pl.col("p") < partners)
    names = _partner_names(w, listed["p"], listed["empty_name"])
    sink = _TableSink(out / "partners.csv", "csv", PARTNERS_COLUMNS)
    sink.write(listed.select(partner_id=_partner_id(pl.col("p")), partner_name=names))
    nbytes = sink.close()

    # Per chunk of partners: tenants, usage and association slots (kept), certifications (written).
    certs = _TableSink(out / "certifications.csv", "csv", CERTIFICATIONS_COLUMNS)
    state: list[tuple[pl.DataFrame, pl.DataFrame]] = []
    n_tenants = 0
    n_chunks = max(1, -(-ptable.height // chunk_partners))
    for i in range(n_chunks):
        chunk = ptable.slice(i * chunk_partners, chunk_partners)
        certs.write(_certifications(w, chunk))
        tenants = _tenants(w, chunk)
        n_tenants += tenants.height
        slots = _usage_slots(w, tenants)
        assoc = _association_slots(w, tenants, slots)
        state.append((slots.drop("t", "k"), assoc))
        say(f"partners {min((i + 1) * chunk_partners, ptable.height)}/{ptable.height}: {n_tenants} tenants")
    nbytes += certs.close()

    usage_rows = assoc_rows = 0
    for m in range(months):
        label = _month_label(w.start_abs + m)
        mdir = out / "months" / label
        mdir.mkdir(parents=True, exist_ok=True)
        usage = _TableSink(mdir / f"workload_usage.{fmt}", fmt, USAGE_COLUMNS)
        assocs = _TableSink(mdir / f"associations.{fmt}", fmt, ASSOCIATIONS_COLUMNS)
        for slots, assoc in state:
            usage.write(_usage_month(w, slots, m))
            assocs.write(_associations_month(w, assoc, m))
        nbytes += usage.close() + assocs.close()
        usage_rows += usage.rows
        assoc_rows += assocs.rows
        say(f"month {label}: {usage.rows} usage rows, {assocs.rows} association rows")

    return GenerateSummary(
        out_dir=out,
        fmt=fmt,
        months=months,
        partners=partners,
        unlisted_partners=unlisted_assoc + unlisted_cert,
        tenants=n_tenants,
        usage_rows=usage_rows,
        association_rows=assoc_rows,
        certification_rows=certs.rows,
        bytes_written=nbytes,
        seconds=time.perf_counter() - t0,
    )
