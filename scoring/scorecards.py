"""Result frames -> scorecards in the GraphQL ``Scorecard`` shape of ``interfaces.md``.

Used by `pcs score --json`, the acceptance test and anything else that wants plain dicts.
"""

from __future__ import annotations

import polars as pl

from scoring.engine import ScoreResult
from scoring.rulebook import METRICS


def scorecards(result: ScoreResult) -> list[dict]:
    """One dict per (partner, month): paths in track order, metrics in the enum's order."""
    track_order = {t: i for i, t in enumerate(result.path_scores["track"].unique(maintain_order=True))}
    metric_order = {m: i for i, m in enumerate(METRICS)}
    options: dict[tuple, list[dict]] = {}
    winners: dict[tuple, dict] = {}
    for r in result.metric_points.iter_rows(named=True):
        key = (r["partner_id"], r["month"], r["track"], r["metric"])
        options.setdefault(key, []).append({"option": r["option"], "value": float(r["value"]), "points": r["points"]})
        if r["is_winner"]:
            winners[key] = r
    paths: dict[tuple, list[dict]] = {}
    for r in result.path_scores.iter_rows(named=True):
        key = (r["partner_id"], r["month"])
        metrics = [
            {
                "metric": m,
                "points": w["points"],
                "maxPoints": w["max_points"],
                "value": float(w["value"]),
                "option": w["option"],
                "options": options[(r["partner_id"], r["month"], r["track"], m)],
            }
            for m in sorted(METRICS, key=metric_order.get)
            if (w := winners.get((r["partner_id"], r["month"], r["track"], m)))
        ]
        paths.setdefault(key, []).append(
            {"track": r["track"], "total": r["total"], "qualifies": r["qualifies"], "metrics": metrics}
        )
    out = []
    for r in result.designations.sort("month", "partner_id").iter_rows(named=True):
        key = (r["partner_id"], r["month"])
        out.append(
            {
                "partnerId": r["partner_id"],
                "month": f"{r['month']:%Y-%m}",
                "attained": r["attained"],
                "bestTrack": r["best_track"],
                "score": r["score"],
                "paths": sorted(paths[key], key=lambda p: track_order.get(p["track"], 99)),
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
    return d.join(q, on="month", how="left").sort("month")
