"""One shard's part of a scored month's inputs: its partners' certifications and registry rows,
their associations in M-12..M, and the usage of the tenants they hold (plus, for eligibility,
the tenants the shard owns), each file read once through a filter pushed into its scan.

Validation is partitioned: every input row belongs to exactly one shard (a partner's rows to
the partner's shard, a usage row to its tenant's; blank keys to shard 0), and each shard checks
the rows it reads, which include the ones it owns. A shard that finds any problem (or cannot
read a file) reads that input whole, as the single-process run does, and so raises the very
same ``InputError``. The steps run in the single-process order (month folders and files,
certifications, partners, the partner ids of every month, then M-12..M), so the first error of
the month over all shards is the single-process error. Why: docs/architecture.md, "Sharded
months".
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import polars as pl

from scoring.calendar import add_months, month_start
from scoring.frames import CERTIFICATIONS_SCHEMA, PARTNERS_SCHEMA, InputError, MissingSnapshotError
from scoring.ingest.checks import blank, validate
from scoring.ingest.files import (
    CERTIFICATIONS,
    PARTNERS,
    MonthFiles,
    Table,
    collect,
    find_table,
    month_files,
    month_folder,
    scan,
)
from scoring.ingest.tables import (
    WARNING_EXAMPLES,
    associations_plan,
    certifications_plan,
    finish_associations,
    finish_certifications,
    finish_partners,
    finish_usage,
    known_partner_ids,
    partner_id_scans,
    partners_plan,
    read_certifications,
    read_month_files,
    read_partners,
    registry_frame,
    seat_warning,
    seats_over,
    usage_plan,
)
from scoring.rulebook import Rulebooks
from scoring.shards import Shard, shard_series

_T = TypeVar("_T")
_ID_COLUMNS = ("partner_id", "tenant_id", "workload", "association_type")


@dataclass
class ReadStats:
    """What a shard read: files scanned (a file scanned twice counts twice), their bytes, the
    rows kept per table, and the seconds spent."""

    scans: int = 0
    file_bytes: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def scanned(self, table: Table) -> None:
        self.scans += 1
        self.file_bytes += table.path.stat().st_size

    def kept(self, kind: str, rows: int) -> None:
        self.rows[kind] = self.rows.get(kind, 0) + rows

    def as_dict(self) -> dict[str, Any]:
        return {"scans": self.scans, "file_bytes": self.file_bytes, "rows": dict(self.rows), "seconds": self.seconds}


@dataclass(frozen=True)
class SeatCount:
    """A shard's part of a usage file's seats warning: its owned rows with active_users >
    paid_seats, counted, and the first ``WARNING_EXAMPLES`` of them (row, tenant, workload, active
    users, paid seats). ``seat_warnings`` merges the parts of all shards into the warnings."""

    rel: str
    count: int
    examples: tuple[tuple[Any, ...], ...]


def seat_warnings(parts: Iterable[SeatCount]) -> list[str]:
    """The warnings of the single-process read, from every shard's ``SeatCount`` of each file
    (files in path order, which is month order)."""
    by_file: dict[str, list[SeatCount]] = {}
    for part in parts:
        by_file.setdefault(part.rel, []).append(part)
    out = []
    for rel in sorted(by_file):
        count = sum(p.count for p in by_file[rel])
        if count:
            examples = sorted((e for p in by_file[rel] for e in p.examples), key=lambda e: int(e[0]))
            out.append(seat_warning(rel, count, examples[:WARNING_EXAMPLES]))
    return out


class ShardInputError(InputError):
    """A shard's bad input: ``error``, the single-process error of the input it was reading
    (same text), and ``step``, that input's place in the single-process reading order. Of a
    month's shards' errors, the one with the smallest step is the month's (``first_error``)."""

    def __init__(self, error: InputError, step: int):
        ValueError.__init__(self, str(error))
        self.problems, self.total = error.problems, error.total
        self.error = error
        self.step = step


def first_error(errors: Iterable[ShardInputError]) -> InputError:
    """The error the single-process run raises, from the errors of a month's shards (every
    shard that met one: at least the one owning the first bad row has)."""
    return min(errors, key=lambda e: e.step).error


class _Hasher:
    """The shard of each key, every distinct key hashed once per reader (a frame of key ->
    shard): the same partner ids and tenants come back in file after file."""

    def __init__(self, shard: Shard):
        self.shard = shard
        self.known = pl.DataFrame(schema={"key": pl.String, "shard": pl.UInt32})

    def mine(self, keys: pl.Series) -> pl.Series:
        """The distinct non-null values of ``keys`` that belong to the shard."""
        values = keys.cast(pl.String).drop_nulls().unique().rename("key")
        if self.shard.count == 1:
            return values
        new = values.to_frame().join(self.known, on="key", how="anti")["key"]
        if new.len():
            self.known = pl.concat(
                [self.known, pl.DataFrame({"key": new, "shard": shard_series(new, self.shard.count)})]
            )
        wanted = self.known.filter(pl.col("shard") == self.shard.index)["key"]
        return values.filter(values.is_in(wanted.implode()))

    def wanted(self, col: str, also: pl.Series | None = None) -> pl.Expr:
        """A scan's filter: the rows whose ``col`` belongs to the shard, or is one of ``also``,
        or is not hashed yet (read, then ``keep`` drops those of other shards): a file is
        scanned once, whatever keys it holds. One ``is_in`` on the keys of the other shards,
        which is several times cheaper than three on the shard's, the others' and ``also``."""
        if self.shard.count == 1:
            return pl.lit(True)
        others = self.known.filter(pl.col("shard") != self.shard.index)["key"]
        if also is not None:
            others = others.filter(~others.is_in(also.implode()))
        expr = ~pl.col(col).is_in(others.implode())
        return expr | pl.col(col).is_null() if self.shard.index == 0 else expr

    def keep(self, df: pl.DataFrame, col: str, also: pl.Series | None = None) -> pl.DataFrame:
        """The rows of a frame read through ``wanted`` that belong to the shard (or whose ``col``
        is one of ``also``), its new keys hashed now."""
        self.mine(df[col])
        return df.filter(self.wanted(col, also))


def owned(col: str, keys: pl.Series, shard: Shard) -> pl.Expr:
    """The rows whose ``col`` is one of ``keys`` (a shard's keys), and, in shard 0, the rows whose
    ``col`` is blank (they belong to no partner or tenant, and shard 0 checks them)."""
    if shard.count == 1:
        return pl.lit(True)
    expr = pl.col(col).is_in(keys.implode())
    return expr | blank(col) if shard.index == 0 else expr


def _compact(df: pl.DataFrame) -> pl.DataFrame:
    """Associations held for later months: ids and names as categoricals (a tenth of the text)."""
    return df.with_columns(pl.col(c).cast(pl.Categorical) for c in _ID_COLUMNS)


def _texts(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col(c).cast(pl.String) for c in _ID_COLUMNS)


class ShardReader:
    """Reads shard ``shard`` of month ``month`` of the folder ``data_dir``: ``open`` reads the
    certifications, the registry and the associations of M-12..M; ``load(N)`` then gives the
    usage and associations of snapshot N (M-12..M, in order), as ``engine.score_each`` asks.
    Bad input raises the ``InputError`` of the single-process run (see the module docstring)."""

    def __init__(self, data_dir: str | Path, month: dt.date, shard: Shard, rulebooks: Rulebooks):
        self.data_dir = Path(data_dir)
        self.month = month_start(month)
        self.shard = shard
        self.rulebooks = rulebooks
        self.months = [add_months(self.month, -k) for k in range(12, -1, -1)]
        self.stats = ReadStats()
        self.seats: list[SeatCount] = []
        self.partners = pl.DataFrame(schema={**PARTNERS_SCHEMA, "in_registry": pl.Boolean})
        self.certifications = pl.DataFrame(schema=CERTIFICATIONS_SCHEMA)
        self.owned_tenants = pl.Series("tenant_id", [], dtype=pl.String)  # of M's usage, after load(M)
        self._hasher = _Hasher(shard)
        self._files: dict[dt.date, MonthFiles] = {}
        self._associations: dict[dt.date, pl.DataFrame] = {}
        self._held = pl.Series("tenant_id", [], dtype=pl.String)
        self._listed = pl.DataFrame(schema=PARTNERS_SCHEMA)
        # where the reading is, in the single-process order: 0 the month folders and files,
        # 1 certifications, 2 partners, 3 every month's partner ids, 4.. the months M-12..M
        self.step = 0

    # ---- the steps, in the single-process order ------------------------------------------------

    def open(self) -> ShardReader:
        t0 = time.perf_counter()
        books = self.rulebooks
        missing = [m for m in self.months if not (self.data_dir / month_folder(m)).is_dir()]
        if missing:
            raise MissingSnapshotError(missing, needed_by=f"scoring {self.month:%Y-%m}")
        self._files = {
            m: month_files(self.data_dir, m, books.association_types, books.workload_renames) for m in self.months
        }
        self.step = 1
        self.certifications = self._certifications()
        self.step = 2
        self._listed = self._listed_partners()
        self.step = 3
        other = self._other_months_partner_ids()
        self._read_associations()
        known = pl.concat(
            [
                self._listed["partner_id"],
                self.certifications["partner_id"],
                other,
                *(a["partner_id"].cast(pl.String) for a in self._associations.values()),
            ]
        )
        self.partners = registry_frame(self._hasher.mine(known).sort().rename("partner_id"), self._listed)
        self.stats.seconds += time.perf_counter() - t0
        return self

    def _other_months_partner_ids(self) -> pl.Series:
        """The partner ids of the month folders outside M-12..M (the registry's, as
        ``known_partner_ids`` reads them; the shard's months are read whole below): hashed now,
        so that the reads of M-12..M skip the other shards' rows from the first month."""
        scans = partner_id_scans(self.data_dir)  # every month's header checked, as the registry read does
        other = [scans[m] for m in sorted(scans) if m not in self._files]
        try:
            for table, _ in other:
                self.stats.scanned(table)
            ids = [df["partner_id"] for df in collect(other)] if other else []
        except InputError:
            self._raise_whole(self._registry_error)
        out = pl.concat([pl.Series("partner_id", [], dtype=pl.String), *(i.cast(pl.String) for i in ids)])
        self._hasher.mine(out)
        return out

    def _registry_error(self) -> None:
        """The registry read of the single-process run (every month's partner ids): raises its
        error, if it has one (and returns if not)."""
        self.step = 3
        known_partner_ids(self.data_dir, partners=self._listed, certifications=self.certifications)

    def _certifications(self) -> pl.DataFrame:
        table = find_table(self.data_dir, CERTIFICATIONS)
        if table is None:
            return pl.DataFrame(schema=CERTIFICATIONS_SCHEMA)
        return self._checked(
            lambda: self._part(table, certifications_plan(table), "partner_id", "certifications"),
            lambda: read_certifications(self.data_dir),
            finish_certifications,
        )

    def _listed_partners(self) -> pl.DataFrame:
        table = find_table(self.data_dir, PARTNERS)
        if table is None:
            return pl.DataFrame(schema=PARTNERS_SCHEMA)
        return self._checked(
            lambda: self._part(table, partners_plan(table), "partner_id", "partners"),
            lambda: read_partners(self.data_dir),
            finish_partners,
        )

    def _part(self, table: Table, planned: Any, key: str, kind: str) -> tuple[pl.DataFrame, int]:
        """The shard's rows of a table keyed by partner, and how many problems they have."""
        lf, checks, unique = planned
        self.stats.scanned(table)
        (df,) = collect([(table, lf.filter(self._hasher.wanted(key)))])
        df = self._hasher.keep(df, key)
        self.stats.kept(kind, df.height)
        return df, validate(df, table.rel, checks, unique)[1]

    def _distinct(self, table: Table, col: str) -> pl.Series:
        """The distinct values of one column of a table (a pass over that column only)."""
        self.stats.scanned(table)
        (df,) = collect([(table, scan(table, [col], row_index=False).select(pl.col(col).unique()))])
        return df[col]

    def _checked(
        self,
        read_part: Callable[[], tuple[pl.DataFrame, int]],
        read_whole: Callable[[], object],
        finish: Callable[[pl.DataFrame], _T],
    ) -> _T:
        """``read_part``'s rows, finished; on a problem in them, the whole input's error."""
        try:
            df, problems = read_part()
        except InputError:
            self._raise_whole(read_whole)
        if problems:
            self._raise_whole(read_whole)
        return finish(df)

    @staticmethod
    def _raise_whole(read_whole: Callable[[], object]) -> NoReturn:
        read_whole()  # raises the input's InputError, as the single-process run reports it
        raise AssertionError("a shard found a problem in its rows that the whole input does not have")

    def _month_error(self, month: dt.date) -> NoReturn:
        self.step = 4 + self.months.index(month)
        self._raise_whole(lambda: read_month_files(self.data_dir, month, self._files[month]))

    # ---- snapshots -----------------------------------------------------------------------------

    def _read_associations(self) -> None:
        """The shard's associations of M-12..M (kept compact until their month is loaded) and the
        tenants they hold. On a problem: the registry's error if the registry read has one (it
        comes first), else the month's, unless the usage of an earlier month is bad (the
        single-process run reports the first bad month)."""
        books = self.rulebooks
        for m in self.months:
            table = self._files[m].associations
            try:
                lf, checks, unique = associations_plan(
                    table, month=m, association_types=books.association_types, renames=books.workload_renames
                )
                self.stats.scanned(table)
                (df,) = collect([(table, lf.filter(self._hasher.wanted("partner_id")))])
                df = self._hasher.keep(df, "partner_id")
                problems = validate(df, table.rel, checks, unique)[1]
            except InputError:
                problems = 1
            if problems:
                self._registry_error()
                for earlier in self.months[: self.months.index(m)]:
                    self._usage(earlier)  # raises that month's error if its usage is bad
                self._month_error(m)
            self.stats.kept("associations", df.height)
            self._associations[m] = _compact(finish_associations(df, m, books.association_types))
        self.step = 4
        held = [a["tenant_id"].cast(pl.String) for a in self._associations.values()]
        self._held = pl.concat(held).unique() if held else self._held

    def _usage(self, month: dt.date) -> pl.DataFrame:
        """The month's usage rows of the tenants the shard's partners hold and of the tenants the
        shard owns, validated (any problem: the month's error)."""
        self.step = 4 + self.months.index(month)
        table = self._files[month].usage
        try:
            if table.fmt == "parquet":  # one column of a parquet file is a cheap read: hash first
                self._hasher.mine(self._distinct(table, "tenant_id"))
            lf, checks, unique = usage_plan(table, renames=self.rulebooks.workload_renames)
            self.stats.scanned(table)
            (df,) = collect([(table, lf.filter(self._hasher.wanted("tenant_id", self._held)))])
            df = self._hasher.keep(df, "tenant_id", self._held)
            mine = self._hasher.mine(df["tenant_id"])
            problems = validate(df, table.rel, checks, unique)[1]
        except InputError:
            self._month_error(month)
        if problems:
            self._month_error(month)
        self.stats.kept("usage", df.height)
        own = df.filter(owned("tenant_id", mine, self.shard))
        over = seats_over(own)
        self.seats.append(SeatCount(table.rel, over.height, tuple(over.head(WARNING_EXAMPLES).rows())))
        if month == self.month:
            self.owned_tenants = mine
        if month in (self.month, add_months(self.month, -12)):
            # the owned tenants' eligibility is shown by this shard: M, and M-12 for the tenants
            # kept in their track (scoring-rules-2026 §3)
            return df
        return df.filter(pl.col("tenant_id").is_in(self._held.implode()))

    def load(self, month: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Snapshot ``month`` (one of M-12..M): its usage (read now) and associations (USAGE_SCHEMA,
        ASSOCIATIONS_SCHEMA), the shard's part of them."""
        t0 = time.perf_counter()
        usage = finish_usage(self._usage(month), month)
        associations = _texts(self._associations.pop(month))
        self.stats.seconds += time.perf_counter() - t0
        return usage, associations
