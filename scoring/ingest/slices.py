"""One partner's slice of the snapshots, read fast: validated months kept per process, compact
and sorted by partner (associations) and tenant (usage), keyed by the files' stamps.

The simulator, the forecast and the score attribution read a partner's rows of twelve to
fourteen months per request; reading those files whole each time costs seconds at 20,000
partners. See docs/architecture.md, "The partner-slice read".
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from scoring.calendar import month_start
from scoring.frames import (
    ASSOCIATIONS_SCHEMA,
    CERTIFICATIONS_SCHEMA,
    USAGE_SCHEMA,
    MissingSnapshotError,
    Snapshots,
)
from scoring.ingest import iter_snapshots  # the package does not import this module
from scoring.ingest.files import ASSOCIATIONS, CERTIFICATIONS, MONTHS_DIR, USAGE, list_months, month_folder
from scoring.ingest.tables import read_certifications
from scoring.rulebook import Rulebooks

DEFAULT_MAX_MONTHS = 14  # the attribution reads M-13..M

Stamp = tuple[tuple[str, int, int], ...]


def _stamp(folder: Path, stems: Iterable[str]) -> Stamp:
    """Name, modification time and size of the folder's files of ``stems`` (either format)."""
    out = []
    for stem in stems:
        for ext in ("csv", "parquet"):
            p = folder / f"{stem}.{ext}"
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


@dataclass(frozen=True)
class _Month:
    """A validated month, compact: ids as categoricals, associations sorted by partner code and
    usage by tenant code (``*_codes`` are those sorted physical codes, for binary search)."""

    stamp: Stamp
    associations: pl.DataFrame  # partner_id, tenant_id, workload, association_type, associated_on
    usage: pl.DataFrame  # tenant_id, workload, paid_seats, active_users
    partner_codes: pl.Series
    tenant_codes: pl.Series
    warnings: tuple[str, ...]

    @staticmethod
    def of(stamp: Stamp, snap: Snapshots, partners: pl.Series | None = None) -> _Month:
        """``snap`` compact; with ``partners`` (sorted distinct ids), only their associations."""
        cat = pl.Categorical
        held = snap.associations
        if partners is not None:
            held = held.filter(pl.col("partner_id").is_in(partners.implode()))
        assoc = (
            held.select(
                pl.col("partner_id").cast(cat),
                pl.col("tenant_id").cast(cat),
                pl.col("workload").cast(cat),
                pl.col("association_type").cast(cat),
                "associated_on",
            )
            .sort(pl.col("partner_id").to_physical())
            .rechunk()
        )
        usage = (
            snap.usage.select(
                pl.col("tenant_id").cast(cat),
                pl.col("workload").cast(cat),
                pl.col("paid_seats").cast(pl.Int32),
                pl.col("active_users").cast(pl.Int32),
            )
            .sort(pl.col("tenant_id").to_physical())
            .rechunk()
        )
        return _Month(
            stamp,
            assoc,
            usage,
            assoc["partner_id"].to_physical(),
            usage["tenant_id"].to_physical(),
            tuple(snap.warnings),
        )

    @staticmethod
    def _rows(codes: pl.Series, wanted: pl.Series) -> pl.Series:
        """Row numbers of ``wanted``'s codes in the sorted ``codes``."""
        lo = codes.search_sorted(wanted, side="left")
        hi = codes.search_sorted(wanted, side="right")
        return pl.int_ranges(lo, hi, dtype=pl.UInt32, eager=True).explode().drop_nulls()

    def associations_of(self, month: dt.date, partner_codes: pl.Series) -> pl.DataFrame:
        """The associations of the partners (sorted physical codes), ``ASSOCIATIONS_SCHEMA``."""
        rows = self.associations[self._rows(self.partner_codes, partner_codes)]
        return rows.select(
            pl.lit(month, dtype=pl.Date).alias("month"),
            *(pl.col(c).cast(t) for c, t in ASSOCIATIONS_SCHEMA.items() if c != "month"),
        )

    def usage_of(self, month: dt.date, tenant_codes: pl.Series) -> pl.DataFrame:
        """The usage of the tenants (sorted physical codes), ``USAGE_SCHEMA``."""
        rows = self.usage[self._rows(self.tenant_codes, tenant_codes)]
        return rows.select(
            pl.lit(month, dtype=pl.Date).alias("month"),
            *(pl.col(c).cast(t) for c, t in USAGE_SCHEMA.items() if c != "month"),
        )


def _codes(ids: pl.Series) -> pl.Series:
    """Sorted distinct physical codes of ids (the process's categories)."""
    return ids.cast(pl.Categorical).to_physical().unique().sort()


class SnapshotCache:
    """Validated snapshot months of data folders, at most ``max_months`` of them (least recently
    used dropped first), each reread when one of its files changes; and the certifications file,
    by partner. Thread-safe; the reads themselves are validated as the pipeline validates them.

    ``partners``: keep only these partners' associations (the usage stays whole: a partner's
    slice needs its tenants' usage in every month, and which tenants it held in some month is
    known only once every month is read); ``partner_snapshots`` then serves these partners
    only. A batch projection of a few partners holds a fraction of the months that way."""

    def __init__(self, max_months: int = DEFAULT_MAX_MONTHS, *, partners: Iterable[str] | None = None) -> None:
        self.max_months = max_months
        self.partners = (
            None if partners is None else pl.Series("partner_id", list(partners), dtype=pl.String).unique().sort()
        )
        self._lock = threading.Lock()
        self._months: OrderedDict[tuple[Path, dt.date], _Month] = OrderedDict()
        self._certs: dict[Path, tuple[Stamp, dict[str, pl.DataFrame]]] = {}
        self.reads = 0  # months read from files (for tests and benchmarks)

    def keeps(self, partner_ids: pl.Series) -> bool:
        """Whether ``partner_snapshots`` can serve these partners."""
        return self.partners is None or bool(partner_ids.is_in(self.partners.implode()).all())

    def clear(self) -> None:
        with self._lock:
            self._months.clear()
            self._certs.clear()

    def warm(self, data_dir: str | Path, *, rulebooks: Rulebooks | None = None) -> list[dt.date]:
        """Read the folder's latest ``max_months`` months (those the requests of the latest
        scored months read) and its certifications into the cache; the months read."""
        root = Path(data_dir).resolve()
        months = list_months(root)[-self.max_months :]
        self._months_of(root, months, rulebooks)
        if _stamp(root, (CERTIFICATIONS,)):
            self.certifications(root, "")
        return months

    def _months_of(self, root: Path, months: list[dt.date], rulebooks: Rulebooks | None) -> list[_Month]:
        """The cached months, reading (two at a time, as the pipeline does) those not cached or
        whose files changed."""
        stamps = {m: _stamp(root / month_folder(m), (USAGE, ASSOCIATIONS)) for m in months}
        found: dict[dt.date, _Month] = {}
        with self._lock:
            for m in months:
                hit = self._months.get((root, m))
                if hit is not None and hit.stamp == stamps[m]:
                    self._months.move_to_end((root, m))
                    found[m] = hit
        stale = [m for m in months if m not in found]
        if stale:  # outside the lock: a second or so a month at 20,000 partners
            # a restricted cache reads one month at a time: it is for batch jobs minding memory
            workers = 2 if self.partners is None else 1
            for snap in iter_snapshots(root, stale, rulebooks=rulebooks, max_workers=workers):
                (m,) = snap.months
                found[m] = entry = _Month.of(stamps[m], snap, self.partners)
                with self._lock:
                    self.reads += 1
                    self._months[(root, m)] = entry
                    self._months.move_to_end((root, m))
                    while len(self._months) > self.max_months:
                        self._months.popitem(last=False)
        return [found[m] for m in months]

    def partner_snapshots(
        self,
        data_dir: str | Path,
        partner_ids: Iterable[str] | pl.Series,
        months: Iterable[dt.date],
        *,
        extra_tenants: Iterable[str] = (),
        needed_by: str = "",
        rulebooks: Rulebooks | None = None,
    ) -> Snapshots:
        """The ``months`` of the folder restricted to the partners' associations and the usage of
        their tenants in each month (plus ``extra_tenants``'), as ``ingest.read_snapshots``
        would give them filtered; missing month folders raise ``MissingSnapshotError`` (all of
        them, before anything is read); a bad month raises its ``InputError``."""
        root = Path(data_dir).resolve()
        asked = pl.Series("partner_id", list(partner_ids), dtype=pl.String)
        if not self.keeps(asked):
            raise ValueError("partner_snapshots: a partner this cache does not keep (see its partners)")
        wanted = sorted({month_start(m) for m in months})
        missing = [m for m in wanted if not (root / month_folder(m)).is_dir()]
        if missing:
            raise MissingSnapshotError(missing, needed_by=needed_by)
        entries = list(zip(wanted, self._months_of(root, wanted, rulebooks), strict=True))
        partners = _codes(asked)
        assoc = [e.associations_of(m, partners) for m, e in entries]
        # the usage of every tenant the partners hold in any of the months, in every month (as
        # ``simulate.restrict``): baselines look a tenant up in the month of its association
        tenants = _codes(pl.concat([a["tenant_id"] for a in assoc] + [pl.Series(list(extra_tenants), dtype=pl.String)]))
        usage = [e.usage_of(m, tenants) for m, e in entries]
        if not wanted:
            return Snapshots(frozenset(), pl.DataFrame(schema=USAGE_SCHEMA), pl.DataFrame(schema=ASSOCIATIONS_SCHEMA))
        warnings = [w for _, e in entries for w in e.warnings]
        return Snapshots(frozenset(wanted), pl.concat(usage), pl.concat(assoc), warnings)

    def certifications(self, data_dir: str | Path, partner_id: str) -> pl.DataFrame:
        """The partner's rows of the certifications file (``read_certifications``), cached until
        the file changes."""
        root = Path(data_dir).resolve()
        stamp = _stamp(root, (CERTIFICATIONS,))
        with self._lock:
            hit = self._certs.get(root)
        if hit is None or hit[0] != stamp:
            frame = read_certifications(root)
            parts = {key[0]: part for key, part in frame.partition_by("partner_id", as_dict=True).items()}
            hit = (stamp, {str(k): v for k, v in parts.items()})
            with self._lock:
                self._certs[root] = hit
        return hit[1].get(partner_id, pl.DataFrame(schema=CERTIFICATIONS_SCHEMA))


SNAPSHOTS = SnapshotCache()
"""The process's cache (the API's simulator, forecast and attribution share it)."""

__all__ = ["DEFAULT_MAX_MONTHS", "MONTHS_DIR", "SNAPSHOTS", "SnapshotCache"]
