"""A second, deliberately plain implementation of the scoring rules for differential tests.

Written from docs/scoring-rules.md (2023) and docs/scoring-rules-2026.md (the 2026 revision),
formula by formula, with Python loops over dictionaries and ``Fraction`` arithmetic. It shares
nothing with the Polars engine but the rulebook's data. Slow and small-data only.

Month ``M`` is scored wholly under the rulebook given (the caller passes
``rulebooks.for_month(M)``): its year-ago side ``M-12`` and its association months use the same
workload lists, tenant rule and certification list as ``M``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction

from scoring.calendar import add_months
from scoring.names import fold
from scoring.rulebook import WORKLOAD_METRICS, Rulebook, Track

NCA, UG, DEP = WORKLOAD_METRICS  # NET_CUSTOMER_ADDS, USAGE_GROWTH, DEPLOYMENTS


def _month_end(m: dt.date) -> dt.date:
    return add_months(m, 1) - dt.timedelta(days=1)


def workload_key(book: Rulebook, name: str) -> str:
    """How a workload name is compared: trimmed and case-folded, an old name mapped to its new
    one (scoring-rules-2026 §1: a rename applies in every version)."""
    renamed = {fold(old): fold(new) for old, new in book.workload_renames.items()}
    return renamed.get(fold(name), fold(name))


def certification_rules(book: Rulebook) -> tuple[dict[str, str], dict[str, dt.date]]:
    """Folded certification name -> level, and -> the last day it counts (where it has one).

    Aliases get their canonical name's level and date; removed certifications are in neither.
    """
    levels: dict[str, str] = {}
    through: dict[str, dt.date] = {}
    for name in book.intermediate_certifications:
        levels[fold(name)] = "INTERMEDIATE"
    for name in book.advanced_certifications:
        levels[fold(name)] = "ADVANCED"
    for name, last_day in book.certification_counts_through.items():
        through[fold(name)] = last_day
    for alias, canonical in book.certification_aliases.items():
        levels[fold(alias)] = levels[fold(canonical)]
        if fold(canonical) in through:
            through[fold(alias)] = through[fold(canonical)]
    return levels, through


def reference_score(
    book: Rulebook, m: dt.date, usage: list[tuple], assoc: list[tuple], certs: list[tuple], partners: list[str]
) -> dict:
    """Returns {(partner, track, metric, option): (value, points)}, paths and designations.

    usage rows: (month, tenant, workload, paid, active); assoc rows: (month, partner, tenant,
    workload, type, associated_on); certs: (partner, person, name, earned_on, expires_on).
    ``book`` is the rulebook in force for ``m``. Also under "metrics": (partner, track, metric,
    "WINNER") -> the winning option of USAGE_GROWTH and DEPLOYMENTS.
    """
    year_ago = add_months(m, -12)
    end = _month_end(m)

    # each metric's eligible workloads, as compared (renames mapped)
    eligible_keys = {metric: {workload_key(book, w) for w in book.workloads[metric]} for metric in WORKLOAD_METRICS}

    # usage of every workload (eligible or not): (month, tenant) -> {workload key: (paid, active)}
    use: dict[tuple, dict[str, tuple[int, int]]] = defaultdict(dict)
    for mon, t, w, paid, active in usage:
        use[(mon, t)][workload_key(book, w)] = (paid, active)

    def usage_of(x: dt.date, t: str, w: str) -> tuple[int, int]:
        """(paid, active) of workload w of tenant t in month x; no row counts as 0 and 0."""
        return use.get((x, t), {}).get(w, (0, 0))

    # every association of every workload: (partner, tenant, option, month) -> {workload key: earliest date}
    held_all: dict[tuple, dict[str, dt.date]] = defaultdict(dict)
    for mon, p, t, w, kind, on in assoc:
        option = book.association_types.get(kind.strip().upper())
        if option is None:
            continue
        ws = held_all[(p, t, option, mon)]
        key = workload_key(book, w)
        ws[key] = min(ws.get(key, on), on)

    def W(metric: str, p: str, t: str, o: str, x: dt.date) -> dict[str, dt.date]:
        """Held workloads of the metric's list, each with its association date."""
        ws = held_all.get((p, t, o, x), {})
        return {w: on for w, on in ws.items() if w in eligible_keys[metric]}

    def in_band(metric: str, t: str, x: dt.date, track: Track) -> bool:
        """Has a workload of the metric's list within the track's seats in month x."""
        for w, (paid, _active) in use.get((x, t), {}).items():
            if w not in eligible_keys[metric]:
                continue
            if paid >= track.seats_min and (track.seats_max is None or paid <= track.seats_max):
                return True
        return False

    def above_band(metric: str, t: str, x: dt.date, track: Track) -> bool:
        """Has a workload of the metric's list above the track's seats in month x."""
        assert track.seats_max is not None
        for w, (paid, _active) in use.get((x, t), {}).items():
            if w in eligible_keys[metric] and paid > track.seats_max:
                return True
        return False

    def eligible(metric: str, t: str, x: dt.date, track: Track) -> bool:
        """Tenant eligibility for the track, under the metric's list. The promoted-tenant rule
        (scoring-rules-2026 §3) applies in the scored month only; M-12 by its own seats."""
        if in_band(metric, t, x, track):
            return True
        if track.keep_promoted and x == m:
            return above_band(metric, t, m, track) and in_band(metric, t, year_ago, track)
        return False

    r = book.deployment_active_ratio

    def meets(t: str, ws, x: dt.date) -> bool:
        paid = sum(usage_of(x, t, w)[0] for w in ws)
        active = sum(usage_of(x, t, w)[1] for w in ws)
        return paid > 0 and Fraction(active) >= r * paid

    # tenants each partner holds anything on, in the two compared months (others never count)
    tenants_of: dict[str, set[str]] = defaultdict(set)
    for p, t, _o, x in held_all:
        if x in (m, year_ago):
            tenants_of[p].add(t)

    # skilling
    levels, through = certification_rules(book)
    persons = defaultdict(set)
    for p, person, name, earned, expires in certs:
        key = fold(name)
        lvl = levels.get(key)
        if lvl is None:
            continue
        active = earned <= end and (expires is None or expires > end)
        counts = key not in through or end <= through[key]
        if active and counts:
            persons[(p, lvl)].add(person)

    out: dict = {}
    paths: dict = {}
    designations: dict = {}
    for p in partners:
        tenants = sorted(tenants_of[p])
        totals = {}
        for track in book.tracks:
            mp: dict[str, Fraction] = {}

            def served(x):
                return {
                    t for t in tenants if eligible(NCA, t, x, track) and any(W(NCA, p, t, o, x) for o in track.options)
                }

            net = len(served(m)) - len(served(year_ago))
            nca = track.net_customer_adds
            pts = min(max(net, 0) * nca.per_unit, nca.max_points)
            out[(p, track.name, "NET_CUSTOMER_ADDS", "ALL")] = (net, pts)
            mp["NET_CUSTOMER_ADDS"] = pts
            for lvl, metric in (
                ("INTERMEDIATE", track.intermediate_certifications),
                ("ADVANCED", track.advanced_certifications),
            ):
                n = len(persons[(p, lvl)])
                pts = min(n * metric.per_unit, metric.max_points)
                out[(p, track.name, f"{lvl}_CERTIFICATIONS", "ALL")] = (n, pts)
                mp[f"{lvl}_CERTIFICATIONS"] = pts
            best_u, best_d = None, None
            for o in track.options:
                # usage growth, under the usage growth list
                def counted(x):
                    return {(t, w) for t in tenants if eligible(UG, t, x, track) for w in W(UG, p, t, o, x)}

                now_pairs, ago_pairs = counted(m), counted(year_ago)
                au_now = sum(usage_of(m, t, w)[1] for t, w in now_pairs)
                au_ago = sum(usage_of(year_ago, t, w)[1] for t, w in ago_pairs)
                base = au_ago
                for t, w in now_pairs:
                    claim = W(UG, p, t, o, m)[w].replace(day=1)
                    if claim > year_ago and (t, w) not in ago_pairs:
                        base += usage_of(claim, t, w)[1]
                growth = au_now - base
                th = track.usage_growth.thresholds[o]
                pts = min(max(growth, 0) * track.usage_growth.max_points / th, track.usage_growth.max_points)
                out[(p, track.name, "USAGE_GROWTH", o)] = (growth, pts)
                if best_u is None or pts > best_u[1]:
                    best_u = (o, pts)

                # deployments, under the deployments list
                def deployed(t, x):
                    ws = W(DEP, p, t, o, x)
                    return eligible(DEP, t, x, track) and bool(ws) and meets(t, ws, x)

                d_now = {t for t in tenants if deployed(t, m)}
                d_ago = {t for t in tenants if deployed(t, year_ago)}
                excluded = 0
                for t in d_now - d_ago:
                    ws = W(DEP, p, t, o, m)
                    claim = min(ws.values()).replace(day=1)
                    if claim > year_ago and meets(t, ws, claim):
                        excluded += 1
                net_d = len(d_now) - excluded - len(d_ago)
                th = track.deployments.thresholds[o]
                pts = min(max(net_d, 0) * track.deployments.max_points / th, track.deployments.max_points)
                out[(p, track.name, "DEPLOYMENTS", o)] = (net_d, pts)
                if best_d is None or pts > best_d[1]:
                    best_d = (o, pts)
            mp["USAGE_GROWTH"] = best_u[1]
            mp["DEPLOYMENTS"] = best_d[1]
            out[(p, track.name, "USAGE_GROWTH", "WINNER")] = best_u[0]
            out[(p, track.name, "DEPLOYMENTS", "WINNER")] = best_d[0]
            total = sum(mp.values())
            q = total >= book.min_total_points and all(v >= book.min_metric_points for v in mp.values())
            paths[(p, track.name)] = (total, q)
            totals[track.name] = (total, q)
        qual = [t.name for t in book.tracks if totals[t.name][1]]
        pool = qual or [t.name for t in book.tracks]
        best = max(pool, key=lambda name: (totals[name][0], -[t.name for t in book.tracks].index(name)))
        designations[p] = (bool(qual), best, totals[best][0])
    return {"metrics": out, "paths": paths, "designations": designations}
