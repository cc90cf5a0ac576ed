"""Result frames -> scorecards in the GraphQL ``Scorecard`` shape of ``interfaces.md``.

Used by `pcs score --json`, the acceptance test and anything else that wants plain dicts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from scoring.engine import ScoreResult
from scoring.metrics import METRICS

Card = dict[str, Any]


def scorecards(result: ScoreResult) -> list[Card]:
    """One dict per (partner, month): paths in track order, metrics in the enum's order."""
    track_order = {t: i for i, t in enumerate(result.path_scores["track"].unique(maintain_order=True))}
    options: dict[tuple[str, dt.date, str, str], list[Card]] = {}
    winners: dict[tuple[str, dt.date, str, str], Card] = {}
    for r in result.metric_points.iter_rows(named=True):
        key = (r["partner_id"], r["month"], r["track"], r["metric"])
        options.setdefault(key, []).append({"option": r["option"], "value": float(r["value"]), "points": r["points"]})
        if r["is_winner"]:
            winners[key] = r
    paths: dict[tuple[str, dt.date], list[Card]] = {}
    for r in result.path_scores.iter_rows(named=True):
        path_key = (r["partner_id"], r["month"])
        metrics = [
            {
                "metric": m,
                "points": w["points"],
                "maxPoints": w["max_points"],
                "value": float(w["value"]),
                "option": w["option"],
                "options": options[(r["partner_id"], r["month"], r["track"], m)],
            }
            for m in METRICS
            if (w := winners.get((r["partner_id"], r["month"], r["track"], m)))
        ]
        paths.setdefault(path_key, []).append(
            {"track": r["track"], "total": r["total"], "qualifies": r["qualifies"], "metrics": metrics}
        )
    out = []
    for r in result.designations.sort("month", "partner_id").iter_rows(named=True):
        path_key = (r["partner_id"], r["month"])
        out.append(
            {
                "partnerId": r["partner_id"],
                "month": f"{r['month']:%Y-%m}",
                "attained": r["attained"],
                "bestTrack": r["best_track"],
                "score": r["score"],
                "paths": sorted(paths[path_key], key=lambda p: track_order.get(p["track"], 99)),
            }
        )
    return out


def summary(result: ScoreResult) -> pl.DataFrame:
    """Per month: partners scored, attaining, and qualifying per track."""
    q = (
        result.path_scores.group_by("month", "track")
        .agg(pl.col("qualifies").sum())
        .pivot(on="track", index="month", values="qualifies")
    )
    d = result.designations.group_by("month").agg(
        pl.len().alias("partners"), pl.col("attained").sum().alias("attained")
    )
    tracks = sorted(c for c in q.columns if c != "month")
    return d.join(q, on="month", how="left").select("month", "partners", "attained", *tracks).sort("month")
