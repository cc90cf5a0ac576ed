"""A second, deliberately plain implementation of scoring-rules.md for differential tests.

Python loops over dictionaries and ``Fraction`` arithmetic, written from the spec's formulas
one by one; it shares nothing with the Polars engine but the rulebook. Slow and small-data only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction

from scoring.calendar import add_months
from scoring.names import fold
from scoring.rulebook import Rulebook


def _month_end(m: dt.date) -> dt.date:
    return add_months(m, 1) - dt.timedelta(days=1)


def reference_score(
    book: Rulebook, m: dt.date, usage: list[tuple], assoc: list[tuple], certs: list[tuple], partners: list[str]
) -> dict:
    """Returns {(partner, track, metric, option): (value, points)}, paths and designations.

    usage rows: (month, tenant, workload, paid, active); assoc rows: (month, partner, tenant,
    workload, type, associated_on); certs: (partner, person, name, earned_on, expires_on).
    """
    names = {fold(w): w for w in book.eligible_workloads}
    use: dict[tuple, tuple[int, int]] = {}
    for mon, t, w, paid, active in usage:
        if fold(w) in names:
            use[(mon, t, names[fold(w)])] = (paid, active)

    def eligible(t: str, x: dt.date, track) -> bool:
        for (mon, tt, _w), (paid, _a) in use.items():
            if (
                mon == x
                and tt == t
                and paid >= track.seats_min
                and (track.seats_max is None or paid <= track.seats_max)
            ):
                return True
        return False

    # W(p, t, O, X) with association dates
    held: dict[tuple, dict[str, dt.date]] = defaultdict(dict)
    for mon, p, t, w, kind, on in assoc:
        option = book.association_types.get(kind.strip().upper())
        if option is None or fold(w) not in names:
            continue
        ws = held[(p, t, option, mon)]
        w = names[fold(w)]
        ws[w] = min(ws.get(w, on), on)

    def W(p, t, o, x) -> dict[str, dt.date]:
        return held.get((p, t, o, x), {})

    tenants = {t for (_m, t, _w) in use} | {k[1] for k in held}
    year_ago = add_months(m, -12)
    r = book.deployment_active_ratio

    def meets(t, ws, x) -> bool:
        paid = sum(use.get((x, t, w), (0, 0))[0] for w in ws)
        active = sum(use.get((x, t, w), (0, 0))[1] for w in ws)
        return paid > 0 and Fraction(active) >= r * paid

    out: dict = {}
    paths: dict = {}
    designations: dict = {}
    levels = book.certification_levels
    end = _month_end(m)
    persons = defaultdict(set)
    for p, person, name, earned, expires in certs:
        lvl = levels.get(fold(name))
        if lvl and earned <= end and (expires is None or expires > end):
            persons[(p, lvl)].add(person)

    for p in partners:
        totals = {}
        for track in book.tracks:
            mp: dict[str, tuple] = {}

            def served(x):
                return {t for t in tenants if eligible(t, x, track) and any(W(p, t, o, x) for o in track.options)}

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

                def counted(x):
                    return {(t, w) for t in tenants if eligible(t, x, track) for w in W(p, t, o, x)}

                now_pairs, ago_pairs = counted(m), counted(year_ago)
                au_now = sum(use.get((m, t, w), (0, 0))[1] for t, w in now_pairs)
                au_ago = sum(use.get((year_ago, t, w), (0, 0))[1] for t, w in ago_pairs)
                base = au_ago
                for t, w in now_pairs:
                    on = W(p, t, o, m)[w]
                    claim = on.replace(day=1)
                    if claim > year_ago and (t, w) not in ago_pairs:
                        base += use.get((claim, t, w), (0, 0))[1]
                growth = au_now - base
                th = track.usage_growth.thresholds[o]
                pts = min(max(growth, 0) * track.usage_growth.max_points / th, track.usage_growth.max_points)
                out[(p, track.name, "USAGE_GROWTH", o)] = (growth, pts)
                if best_u is None or pts > best_u[1]:
                    best_u = (o, pts)

                def deployed(t, x):
                    ws = W(p, t, o, x)
                    return eligible(t, x, track) and bool(ws) and meets(t, ws, x)

                d_now = {t for t in tenants if deployed(t, m)}
                d_ago = {t for t in tenants if deployed(t, year_ago)}
                excluded = 0
                for t in d_now - d_ago:
                    ws = W(p, t, o, m)
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
