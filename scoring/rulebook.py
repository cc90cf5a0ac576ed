"""The scoring rulebook: every constant of the rules, loaded from data and validated.

``Rulebook.scale`` makes every point value a whole number of units (see docs/architecture.md,
"Exact points"); errors name the version and key that are wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from scoring.calendar import parse_month
from scoring.names import fold, renamed_fold

__all__ = [
    "DEFAULT_RULEBOOK_PATH",
    "WORKLOAD_METRICS",
    "OPTION_ALL",
    "OptionMetric",
    "PerUnitMetric",
    "Rulebook",
    "RulebookError",
    "Rulebooks",
    "Track",
    "fold",
    "load_rulebooks",
]

DEFAULT_RULEBOOK_PATH = Path(__file__).resolve().parent / "rulebooks" / "modern_work.toml"

OPTION_ALL = "ALL"

# the metrics that count workloads, each with its own list of eligible workloads per version
# (the keys of [version.workloads], upper-cased as the metrics are named)
WORKLOAD_METRICS = ("NET_CUSTOMER_ADDS", "USAGE_GROWTH", "DEPLOYMENTS")


class RulebookError(ValueError):
    """A rulebook file that cannot be used: says which version and which key is wrong."""


@dataclass(frozen=True)
class PerUnitMetric:
    per_unit: Fraction
    max_points: Fraction


@dataclass(frozen=True)
class OptionMetric:
    max_points: Fraction
    thresholds: dict[str, Fraction]  # option -> measure that earns max_points


@dataclass(frozen=True)
class Track:
    name: str
    seats_min: int
    seats_max: int | None
    options: tuple[str, ...]
    net_customer_adds: PerUnitMetric
    intermediate_certifications: PerUnitMetric
    advanced_certifications: PerUnitMetric
    usage_growth: OptionMetric
    deployments: OptionMetric
    # a tenant above seats_max in M stays eligible when it was within the seats in M-12
    keep_promoted: bool = False


@dataclass(frozen=True)
class Rulebook:
    id: str
    effective_from: dt.date  # first day of a month
    source: str
    min_total_points: Fraction
    min_metric_points: Fraction
    deployment_active_ratio: Fraction
    workloads: dict[str, tuple[str, ...]]  # metric (WORKLOAD_METRICS) -> canonical names, in order
    association_types: dict[str, str]  # input type (upper case) -> option
    intermediate_certifications: tuple[str, ...]
    advanced_certifications: tuple[str, ...]
    certification_aliases: dict[str, str]  # alias -> canonical name
    tracks: tuple[Track, ...]
    effective_from_approximate: bool = False
    # old name -> new name: every rename of every version of the file (they apply in all)
    workload_renames: dict[str, str] = field(default_factory=dict)
    # canonical certification name -> the last day on which it counts
    certification_counts_through: dict[str, dt.date] = field(default_factory=dict)
    removed_certifications: tuple[str, ...] = ()  # no longer eligible under this version
    scale: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _scale_of(self))

    # ---- lookups the scoring uses -------------------------------------------------------
    @property
    def eligible_workloads(self) -> tuple[str, ...]:
        """Every workload eligible for some metric, first appearance first."""
        return tuple(dict.fromkeys(w for names in self.workloads.values() for w in names))

    def workloads_of(self, metric: str) -> tuple[str, ...]:
        """The workloads eligible for ``metric`` (one of ``WORKLOAD_METRICS``)."""
        return self.workloads[metric]

    @property
    def workload_lists(self) -> tuple[tuple[str, ...], ...]:
        """The distinct workload lists of the metrics (as sets), first appearance first: scoring
        computes its facts once per list (the 2023 version has one)."""
        lists: list[tuple[str, ...]] = []
        for metric in WORKLOAD_METRICS:
            names = self.workloads[metric]
            if all(set(names) != set(seen) for seen in lists):
                lists.append(names)
        return tuple(lists)

    def list_index(self, metric: str) -> int:
        """The index in ``workload_lists`` of ``metric``'s list."""
        names = set(self.workloads[metric])
        return next(i for i, seen in enumerate(self.workload_lists) if set(seen) == names)

    def same_workload(self, name: str) -> dict[str, str]:
        """Every folded spelling of the workload ``name`` (its own and its rename's) -> ``name``."""
        key = renamed_fold(self.workload_renames)
        renames = self.workload_renames
        names = {fold(name), *(fold(o) for o in renames), *(fold(n) for n in renames.values())}
        return {n: name for n in names if key(n) == key(name)}

    def counts_through(self, certification: str) -> dt.date | None:
        """The last day a certification (any spelling or alias) counts, if it has one."""
        return self.certification_deadlines.get(fold(certification))

    @property
    def workload_names(self) -> dict[str, str]:
        """Folded workload name -> canonical name, for every eligible workload: either name of a
        renamed workload maps to the name this version lists."""
        return self.workload_names_of(self.eligible_workloads)

    def workload_names_of(self, workloads: tuple[str, ...]) -> dict[str, str]:
        """Folded workload name (either name of a rename) -> canonical name, for ``workloads``."""
        names = {fold(w): w for w in workloads}
        for old, new in self.workload_renames.items():
            if fold(new) in names:
                names[fold(old)] = names[fold(new)]
            elif fold(old) in names:
                names[fold(new)] = names[fold(old)]
        return names

    @property
    def certification_deadlines(self) -> dict[str, dt.date]:
        """Folded certification name (aliases included) -> the last day it counts, where it has one."""
        deadlines = {fold(c): d for c, d in self.certification_counts_through.items()}
        for alias, canonical in self.certification_aliases.items():
            if fold(canonical) in deadlines:
                deadlines[fold(alias)] = deadlines[fold(canonical)]
        return deadlines

    @property
    def certification_levels(self) -> dict[str, str]:
        """Folded certification name (aliases included) -> "INTERMEDIATE" or "ADVANCED"."""
        levels = {fold(c): "INTERMEDIATE" for c in self.intermediate_certifications}
        levels.update({fold(c): "ADVANCED" for c in self.advanced_certifications})
        for alias, canonical in self.certification_aliases.items():
            levels[fold(alias)] = levels[fold(canonical)]
        return levels

    @property
    def options(self) -> tuple[str, ...]:
        """Every option of every track, first appearance first."""
        seen: list[str] = []
        for t in self.tracks:
            seen.extend(o for o in t.options if o not in seen)
        return tuple(seen)

    def track(self, name: str) -> Track:
        for t in self.tracks:
            if t.name == name:
                return t
        raise KeyError(name)

    def units(self, points: Fraction) -> int:
        """Points as an exact whole number of units of 1/scale."""
        u = points * self.scale
        assert u.denominator == 1, (points, self.scale)
        return int(u)


@dataclass(frozen=True)
class Rulebooks:
    versions: tuple[Rulebook, ...]  # ascending by effective_from

    def for_month(self, month: dt.date) -> Rulebook:
        """The rulebook in force for scored month ``month``."""
        first = month.replace(day=1)
        in_force = [r for r in self.versions if r.effective_from <= first]
        if not in_force:
            raise RulebookError(
                f"no rulebook version is in force for {first:%Y-%m}: the earliest is "
                f"{self.versions[0].id} from {self.versions[0].effective_from:%Y-%m}"
            )
        return in_force[-1]

    @property
    def association_types(self) -> tuple[str, ...]:
        """Every input association type of any version, first appearance first."""
        return tuple(dict.fromkeys(t for book in self.versions for t in book.association_types))

    @property
    def workload_renames(self) -> dict[str, str]:
        """Old name -> new name, for every rename (they apply in every version)."""
        return dict(self.versions[0].workload_renames) if self.versions else {}

    def fold_workload(self, name: str) -> str:
        """The key under which a workload name is compared in the input: trimmed, case-folded,
        and a renamed workload's old name replaced by its new one."""
        return renamed_fold(self.workload_renames)(name)


# ---- loading and validation ----------------------------------------------------------------


def load_rulebooks(path: str | Path | None = None) -> Rulebooks:
    path = Path(path) if path is not None else DEFAULT_RULEBOOK_PATH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RulebookError(f"rulebook {path}: cannot read it: {exc}") from exc
    versions = raw.get("version")
    if not isinstance(versions, list) or not versions:
        raise RulebookError(f"rulebook {path}: no [[version]] entries")
    books = [_parse_version(v, f"rulebook {path}, version #{i + 1}") for i, v in enumerate(versions)]
    renames = _merge_renames(books, f"rulebook {path}")
    books = [dataclasses.replace(b, workload_renames=renames) for b in books]
    for b in books:
        _check_lists_under_renames(b, f"rulebook {path}, version {b.id}")
    books.sort(key=lambda b: b.effective_from)
    for a, b in zip(books, books[1:]):
        if a.effective_from == b.effective_from:
            raise RulebookError(
                f"rulebook {path}: versions {a.id} and {b.id} share effective_from {a.effective_from:%Y-%m}"
            )
    ids = [b.id for b in books]
    if len(set(ids)) != len(ids):
        raise RulebookError(f"rulebook {path}: version ids repeat: {ids}")
    return Rulebooks(tuple(books))


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise RulebookError(f"{where}: missing key '{key}'")
    return d[key]


def _number(value: Any, where: str, *, positive: bool = True) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RulebookError(f"{where}: {value!r} is not a number")
    try:
        f = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise RulebookError(f"{where}: {value!r} is not a number") from exc
    if f < 0 or (positive and f == 0):
        raise RulebookError(f"{where}: {value!r} must be {'> 0' if positive else '>= 0'}")
    return f


def _month(value: Any, where: str) -> dt.date:
    try:
        return parse_month(str(value))
    except ValueError as exc:
        raise RulebookError(f"{where}: {value!r} is not a month YYYY-MM") from exc


def _merge_renames(books: list[Rulebook], where: str) -> dict[str, str]:
    """Every version's renames together: one old name has one new name, and no name is both."""
    merged: dict[str, str] = {}
    for book in books:
        for old, new in book.workload_renames.items():
            if fold(old) in {fold(o) for o in merged} and fold(merged[_key(merged, old)]) != fold(new):
                raise RulebookError(f"{where}: workload {old!r} is renamed to two names")
            merged.setdefault(_key(merged, old) or old, new)
    olds, news = {fold(o) for o in merged}, {fold(n) for n in merged.values()}
    if olds & news:
        raise RulebookError(f"{where}: a workload is renamed and a rename's new name too: {sorted(olds & news)}")
    return merged


def _key(mapping: dict[str, str], name: str) -> str:
    """The key of ``mapping`` that folds like ``name`` ("" when none)."""
    return next((k for k in mapping if fold(k) == fold(name)), "")


def _check_lists_under_renames(book: Rulebook, where: str) -> None:
    """A metric's list names a workload once, whichever of its names it uses."""
    renamed = {fold(o): fold(n) for o, n in book.workload_renames.items()}
    for metric, names in book.workloads.items():
        keys = [renamed.get(fold(w), fold(w)) for w in names]
        if len(set(keys)) != len(keys):
            raise RulebookError(f"{where}.workloads.{metric.lower()}: a workload is listed under both of its names")


def _certifications(value: Any, where: str) -> tuple[tuple[str, ...], dict[str, dt.date]]:
    """A list of certification names, each a name or ``{ name, counts_through = YYYY-MM-DD }``."""
    if not isinstance(value, list) or not value:
        raise RulebookError(f"{where}: must be a non-empty list of certifications")
    names: list[str] = []
    through: dict[str, dt.date] = {}
    for i, item in enumerate(value):
        if isinstance(item, dict):
            unknown = set(item) - {"name", "counts_through"}
            if unknown:
                raise RulebookError(f"{where}[{i}]: unknown keys {sorted(unknown)}")
            name = _need(item, "name", f"{where}[{i}]")
            if "counts_through" in item:
                through[str(name).strip()] = _day(item["counts_through"], f"{where}[{i}].counts_through")
        else:
            name = item
        names.append(name)
    return _names(names, where), through


def _day(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise RulebookError(f"{where}: {value!r} is not a date YYYY-MM-DD") from exc


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulebookError(f"{where}: must be a non-empty list of names")
    folded = [fold(v) for v in value]
    if len(set(folded)) != len(folded):
        raise RulebookError(f"{where}: a name repeats (names compare trimmed and case-folded)")
    return tuple(v.strip() for v in value)


def _per_unit(d: Any, unit_key: str, where: str) -> PerUnitMetric:
    if not isinstance(d, dict):
        raise RulebookError(f"{where}: must be a table")
    return PerUnitMetric(
        per_unit=_number(_need(d, unit_key, where), f"{where}.{unit_key}"),
        max_points=_number(_need(d, "max_points", where), f"{where}.max_points"),
    )


def _option_metric(d: Any, options: tuple[str, ...], where: str) -> OptionMetric:
    if not isinstance(d, dict):
        raise RulebookError(f"{where}: must be a table")
    thresholds = _need(d, "thresholds", where)
    if not isinstance(thresholds, dict) or set(thresholds) != set(options):
        raise RulebookError(f"{where}.thresholds: must give exactly the track's options {list(options)}")
    return OptionMetric(
        max_points=_number(_need(d, "max_points", where), f"{where}.max_points"),
        thresholds={o: _number(thresholds[o], f"{where}.thresholds.{o}") for o in options},
    )


def _parse_track(t: Any, option_names: set[str], where: str) -> Track:
    if not isinstance(t, dict):
        raise RulebookError(f"{where}: must be a table")
    name = str(_need(t, "name", where))
    where = f"{where} ({name})"
    seats_min = _need(t, "seats_min", where)
    seats_max = t.get("seats_max")
    if not isinstance(seats_min, int) or seats_min < 1:
        raise RulebookError(f"{where}.seats_min: must be a whole number >= 1")
    if seats_max is not None and (not isinstance(seats_max, int) or seats_max < seats_min):
        raise RulebookError(f"{where}.seats_max: must be a whole number >= seats_min")
    options = _names(_need(t, "options", where), f"{where}.options")
    unknown = set(options) - option_names
    if unknown:
        raise RulebookError(f"{where}.options: {sorted(unknown)} is no association type's option")
    keep_promoted = t.get("keep_promoted", False)
    if not isinstance(keep_promoted, bool) or (keep_promoted and seats_max is None):
        raise RulebookError(f"{where}.keep_promoted: must be true or false, and needs seats_max")
    return Track(
        name=name,
        keep_promoted=keep_promoted,
        seats_min=seats_min,
        seats_max=seats_max,
        options=options,
        net_customer_adds=_per_unit(_need(t, "net_customer_adds", where), "per_customer", f"{where}.net_customer_adds"),
        intermediate_certifications=_per_unit(
            _need(t, "intermediate_certifications", where), "per_person", f"{where}.intermediate_certifications"
        ),
        advanced_certifications=_per_unit(
            _need(t, "advanced_certifications", where), "per_person", f"{where}.advanced_certifications"
        ),
        usage_growth=_option_metric(_need(t, "usage_growth", where), options, f"{where}.usage_growth"),
        deployments=_option_metric(_need(t, "deployments", where), options, f"{where}.deployments"),
    )


def _parse_version(v: Any, where: str) -> Rulebook:
    if not isinstance(v, dict):
        raise RulebookError(f"{where}: must be a table")
    vid = str(_need(v, "id", where))
    where = f"{where} (id {vid})"
    assoc = _need(v, "association_types", where)
    if not isinstance(assoc, dict) or not assoc or not all(isinstance(o, str) and o for o in assoc.values()):
        raise RulebookError(f"{where}.association_types: must map each input type to an option name")
    certs = _need(v, "certifications", where)
    if not isinstance(certs, dict):
        raise RulebookError(f"{where}.certifications: must be a table")
    intermediate, through = _certifications(_need(certs, "intermediate", where), f"{where}.certifications.intermediate")
    advanced, through_advanced = _certifications(_need(certs, "advanced", where), f"{where}.certifications.advanced")
    through.update(through_advanced)
    removed = _names(certs["removed"], f"{where}.certifications.removed") if "removed" in certs else ()
    if {fold(c) for c in intermediate} & {fold(c) for c in advanced}:
        raise RulebookError(f"{where}.certifications: a certification is both intermediate and advanced")
    aliases = certs.get("aliases", {})
    known = {fold(c) for c in intermediate + advanced}
    if {fold(c) for c in removed} & known:
        raise RulebookError(f"{where}.certifications.removed: a removed certification is still listed")
    if not isinstance(aliases, dict) or any(fold(c) not in known for c in aliases.values()):
        raise RulebookError(f"{where}.certifications.aliases: each alias must name a listed certification")
    tracks_raw = _need(v, "tracks", where)
    if not isinstance(tracks_raw, list) or not tracks_raw:
        raise RulebookError(f"{where}.tracks: must list at least one track")
    option_names = set(assoc.values())
    tracks = tuple(_parse_track(t, option_names, f"{where}.tracks[{i}]") for i, t in enumerate(tracks_raw))
    if len({t.name for t in tracks}) != len(tracks):
        raise RulebookError(f"{where}.tracks: track names repeat")
    workloads = _need(v, "workloads", where)
    keys = {m.lower() for m in WORKLOAD_METRICS}
    if not isinstance(workloads, dict) or set(workloads) != keys:
        raise RulebookError(f"{where}.workloads: must list the workloads of each of {sorted(keys)}")
    renames = v.get("workload_renames", {})
    if not isinstance(renames, dict) or not all(
        isinstance(o, str) and o.strip() and isinstance(n, str) and n.strip() for o, n in renames.items()
    ):
        raise RulebookError(f"{where}.workload_renames: must map old workload names to new ones")
    approximate = v.get("effective_from_approximate", False)
    if not isinstance(approximate, bool):
        raise RulebookError(f"{where}.effective_from_approximate: must be true or false")
    ratio = _number(_need(v, "deployment_active_ratio", where), f"{where}.deployment_active_ratio")
    if ratio > 1:
        raise RulebookError(f"{where}.deployment_active_ratio: must be at most 1")
    return Rulebook(
        id=vid,
        effective_from=_month(_need(v, "effective_from", where), f"{where}.effective_from"),
        source=str(v.get("source", "")),
        min_total_points=_number(_need(v, "min_total_points", where), f"{where}.min_total_points"),
        min_metric_points=_number(_need(v, "min_metric_points", where), f"{where}.min_metric_points", positive=False),
        deployment_active_ratio=ratio,
        workloads={m: _names(workloads[m.lower()], f"{where}.workloads.{m.lower()}") for m in WORKLOAD_METRICS},
        association_types={k.strip().upper(): o for k, o in assoc.items()},
        intermediate_certifications=intermediate,
        advanced_certifications=advanced,
        certification_aliases={k.strip(): c.strip() for k, c in aliases.items()},
        tracks=tracks,
        effective_from_approximate=approximate,
        workload_renames={o.strip(): n.strip() for o, n in renames.items()},
        certification_counts_through=through,
        removed_certifications=removed,
    )


def _scale_of(book: Rulebook) -> int:
    """Least common denominator of every point value the rulebook can produce."""
    fractions: list[Fraction] = [book.min_total_points, book.min_metric_points]
    for t in book.tracks:
        for per_unit in (t.net_customer_adds, t.intermediate_certifications, t.advanced_certifications):
            fractions += [per_unit.per_unit, per_unit.max_points]
        for by_option in (t.usage_growth, t.deployments):
            fractions.append(by_option.max_points)
            fractions += [by_option.max_points / th for th in by_option.thresholds.values()]
    scale = 1
    for f in fractions:
        scale = math.lcm(scale, f.denominator)
    return scale
