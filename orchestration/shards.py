"""``score_months_sharded_job``: a range of months, each scored in N partner shards, each shard a
step: ``plan_shards`` fans the (month, shard) pairs out, ``score_shard`` reads its part of the
month's inputs, scores its partners and stages their rows in the results database,
``publish_months`` publishes every month whose shards are all staged (one transaction each),
queues the webhook events and fails the run naming the months not published.

The executor is the job's only moving part: ``sharded_job(executor_def)`` builds the job on any
executor (Dagster's multiprocess executor here, ``multiprocess_shards``; a distributed one runs
the same steps). Why staging, why one publish step: docs/architecture.md, "Sharded months".
"""

import datetime as dt
import resource
import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
import sqlalchemy as sa

from orchestration.checks import (
    broken_inputs,
    failure_text,
    input_invalid,
    input_valid,
    merge_unnamed,
    month_evaluation,
    partners_named_result,
    seats_check,
    unnamed_partners,
)
from orchestration.executors import FORKSERVER_PRELOAD
from orchestration.metadata import read_span
from orchestration.months import span, spans
from orchestration.parallel import months_to_score, retried
from orchestration.partitions import partition_key
from orchestration.resources import DataFolder, ResultsDatabase, resource_config
from orchestration.specs import RESULT_ORDER, SNAPSHOT
from orchestration.webhooks import WEBHOOK_EVENTS, queue_events
from scoring import service
from scoring.calendar import parse_month
from scoring.ingest.shards import SeatCount, ShardInputError, seat_warnings
from scoring.shards import MAX_SHARDS, Shard
from storage import results as store
from storage.engines import get_engine
from storage.results import staging

JOB_NAME = "score_months_sharded_job"
DEFAULT_SHARDS = 4
DEFAULT_MAX_CONCURRENT = 2
Event = dg.AssetMaterialization | dg.AssetCheckEvaluation
_LIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def batch_of(run_id: str) -> str:
    """The staging batch of a run: its id's first 16 hex digits."""
    return run_id.replace("-", "")[:16]


def mapping_key(month: dt.date, shard: int) -> str:
    """``2024_06_s003``: a dynamic output's mapping key."""
    return f"{month:%Y_%m}_s{shard:03d}"


# ---- plan ------------------------------------------------------------------------------------


def drop_dead_staging(instance: dg.DagsterInstance, engine: sa.Engine, keep: str) -> list[str]:
    """Drop the staging of runs that ended without publishing it (a failed shard, a killed run):
    every batch but ``keep`` and those of runs of this instance still queued or running (a run
    re-executed from a failure stages under its root run's batch). The batches dropped."""
    live = {keep}
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_LIVE)):
        live |= {batch_of(run.run_id), batch_of(run.root_run_id or run.run_id)}
    dead = sorted(set(staging.staged_batches(engine)) - live)
    staging.drop_batches(engine, dead)
    return dead


@dg.op(
    out=dg.DynamicOut(dict),
    config_schema={
        "from": dg.Field(str, is_required=False, description="first month, YYYY-MM"),
        "to": dg.Field(str, is_required=False, description="last month, YYYY-MM (default: from)"),
        "shards": dg.Field(int, default_value=DEFAULT_SHARDS, description=f"shards per month, 1..{MAX_SHARDS}"),
    },
    description="The run's months (config from/to, else the partition tags), each in N shards: one output per shard.",
)
def plan_shards(context: dg.OpExecutionContext, results_db: ResultsDatabase):
    config = dict(context.op_config or {})
    try:
        months = months_to_score(config, dict(context.run.tags))
        n = Shard(0, config.get("shards", DEFAULT_SHARDS)).count
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    engine = results_db.engine()  # connect and migrate once, before the shards run side by side
    batch = batch_of(context.run.run_id)
    dead = drop_dead_staging(context.instance, engine, batch)
    if dead:
        context.log.info(f"dropped the staging of {len(dead)} run(s) that ended without publishing it")
    context.log.info(
        f"{span(months)}: {len(months)} month(s) in {n} shard(s) each, staged as batch {batch} in "
        f"{results_db.display_url()}"
    )
    for month in months:
        for k in range(n):
            task = {"month": month.isoformat(), "shard": k, "shards": n, "batch": batch}
            yield dg.DynamicOutput(task, mapping_key=mapping_key(month, k))


# ---- one shard -------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dg.op(
    description=(
        "Read one shard's part of a month's inputs, score its partners and stage their rows in the "
        "results database (one transaction, replacing what this shard staged before). Bad input "
        "is returned as the shard's outcome (the month is not published); any other error fails "
        "the step."
    ),
)
def score_shard(
    context: dg.OpExecutionContext, task: dict, data_folder: DataFolder, results_db: ResultsDatabase
) -> dict:
    month = dt.date.fromisoformat(task["month"])
    shard = Shard(task["shard"], task["shards"])
    label = f"{month:%Y-%m} {shard}"
    engine = get_engine(results_db.resolved_url())  # migrated by the plan step
    t0 = time.perf_counter()
    outcome: dict[str, Any] = {
        "month": f"{month:%Y-%m}",
        "shard": shard.index,
        "shards": shard.count,
        "batch": task["batch"],
    }
    try:
        scored = service.score_shard(month, shard, directory=data_folder.resolved())
    except ShardInputError as exc:
        text = failure_text([month], exc.error)
        context.log.error(f"{label}: bad input\n{text}")
        return {**outcome, "staged": False, "step": exc.step, "error": text, "bad input": broken_inputs(exc.error)}
    score_s = time.perf_counter() - t0
    frames = scored.result.frames()
    staged = staging.StagedMonth(task["batch"], month, shard.count)
    t1 = time.perf_counter()
    counts = retried(
        context,
        label,
        lambda: staging.stage_shard(engine, staged=staged, shard=shard.index, frames=frames, partners=scored.partners),
    )
    stage_s = time.perf_counter() - t1
    designations = scored.result.designations
    read = scored.stats.as_dict()
    context.log.info(
        f"{label}: {designations.height} partners scored in {score_s:.1f}s (read {read['seconds']:.1f}s, "
        f"{read['file_bytes'] / 1e6:.0f} MB scanned, rows kept {read['rows']}), "
        f"{sum(counts.values())} rows staged in {stage_s:.1f}s; peak RSS {_peak_rss_mb():.0f} MB"
    )
    return {
        **outcome,
        "staged": True,
        "rulebook_id": scored.rulebook_id,
        "rows": counts,
        "attained": int(designations["attained"].sum()),
        "seats": [[s.rel, s.count, [list(e) for e in s.examples]] for s in scored.seats],
        "unnamed": unnamed_partners(scored.partners),
        "read": read,
        "score_s": round(score_s, 2),
        "stage_s": round(stage_s, 2),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


# ---- publish ---------------------------------------------------------------------------------


def _month_failure(outcomes: list[dict]) -> dict | None:
    """The month's bad input, as the single-process run reports it: of the shards' errors, the
    one read first (``ingest.shards.first_error``); None when every shard staged."""
    failed = [o for o in outcomes if not o["staged"]]
    return min(failed, key=lambda o: o["step"]) if failed else None


def _record(month: dt.date, outcomes: list[dict], counts: dict, publish_s: float) -> Iterator[Event]:
    """The month's materializations (snapshot and the six results) and check evaluations."""
    pk, label = partition_key(month), f"{month:%Y-%m}"
    n = outcomes[0]["shards"]
    warnings = seat_warnings(SeatCount(r, c, tuple(tuple(e) for e in ex)) for o in outcomes for r, c, ex in o["seats"])
    own = [w for w in warnings if w.startswith(f"months/{label}/")]
    common = {"months": label, "shards": n, "job": JOB_NAME}
    snapshot = {
        **common,
        "snapshots read": read_span([month]),
        "bytes scanned (all shards)": sum(o["read"]["file_bytes"] for o in outcomes),
        "warnings": len(own),
    }
    yield dg.AssetMaterialization(asset_key=SNAPSHOT, partition=pk, metadata=snapshot)
    rulebook = outcomes[0]["rulebook_id"]
    for name in RESULT_ORDER:
        metadata = {
            **common,
            "dagster/row_count": counts[name],
            "rulebook version": f"{rulebook} ({label})",
            "publish seconds": round(publish_s, 1),
        }
        if name == "designations":
            metadata |= {"partners scored": counts[name], "attained": sum(o["attained"] for o in outcomes)}
        yield dg.AssetMaterialization(asset_key=dg.AssetKey(name), partition=pk, metadata=metadata)
    checks = [
        input_valid(read_span([month])),
        seats_check(label, own, [w for w in warnings if w not in own]),
        partners_named_result(merge_unnamed([o["unnamed"] for o in outcomes])),
    ]
    for check in checks:
        yield month_evaluation(check, month)


@dg.op(
    description=(
        "Publishes each month whose shards all staged (one transaction per month: readers see the "
        "month before or after), records its materializations, queues the webhook events; fails "
        "the run naming the months not published and why."
    ),
)
def publish_months(
    context: dg.OpExecutionContext, data_folder: DataFolder, results_db: ResultsDatabase, outcomes: list[dict]
) -> Iterator[Event | dg.Output]:
    # a generator: each month's events are yielded as it is published, so a failing run still
    # records the months it published (events logged with log_event are lost when an op raises)
    engine = results_db.engine()
    by_month: dict[str, list[dict]] = {}
    for o in outcomes:
        by_month.setdefault(o["month"], []).append(o)
    published, failed = [], []
    for label in sorted(by_month):
        month, parts = parse_month(label), sorted(by_month[label], key=lambda o: o["shard"])
        failure = _month_failure(parts)
        if failure is not None:
            context.log.error(failure["error"])
            yield month_evaluation(input_invalid(failure["error"], {"shards": len(parts)}), month)
            failed.append((label, failure["error"]))
            continue
        staged = staging.StagedMonth(parts[0]["batch"], month, parts[0]["shards"])
        t0 = time.perf_counter()
        counts = retried(
            context,
            f"publishing {label}",
            lambda staged=staged, rulebook=parts[0]["rulebook_id"]: staging.publish(
                engine,
                staged=staged,
                rulebook_id=rulebook,
                run_id=context.run.run_id,
                materialized_at=dt.datetime.now(dt.UTC),
            ),
        )
        publish_s = time.perf_counter() - t0
        rows = sum(counts[n] for n in store.RESULTS)
        context.log.info(f"published {label} from {len(parts)} shard(s): {rows} rows in {publish_s:.1f}s")
        yield from _record(month, parts, counts, publish_s)
        published.append(month)
    if published:  # month M's events read M-1's results: after every month is published
        queued = queue_events(engine, months=published, directory=data_folder.resolved(), log=context.log)
        for month in published:
            yield dg.AssetMaterialization(
                WEBHOOK_EVENTS, partition=partition_key(month), metadata=queued.metadata(published)
            )
    summary = {
        "published": spans(published),
        "not published": spans([parse_month(m) for m, _ in failed]),
        "shards": max(o["shards"] for o in outcomes) if outcomes else 0,
        "peak RSS of a shard (MB)": max((o.get("peak_rss_mb", 0) for o in outcomes), default=0),
    }
    if failed:
        text = "\n".join(
            [f"not scored: {summary['not published']}; scored and written: {summary['published']}"]
            + [error for _, error in failed]
        )
        raise dg.Failure(description=text, metadata=summary, allow_retries=False)
    context.log.info(f"published: {summary['published']}")
    yield dg.Output(summary, metadata=summary)


# ---- the job ---------------------------------------------------------------------------------


def _executor_config(config: dict) -> dict:
    return {
        "max_concurrent": config["max_concurrent"],
        "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}},
    }


shards_executor = dg.multiprocess_executor.configured(
    _executor_config,
    name="multiprocess_shards",
    config_schema={
        "max_concurrent": dg.Field(
            int,
            default_value=DEFAULT_MAX_CONCURRENT,
            description="shards (step processes) at a time; each holds one shard's scoring",
        )
    },
    description=(
        "Dagster's multiprocess executor: one process per step, at most max_concurrent at a time "
        "(default 2), started from a fork server (executors.FORKSERVER_PRELOAD)."
    ),
)


def sharded_job(executor_def: dg.ExecutorDefinition = shards_executor, name: str = JOB_NAME) -> dg.JobDefinition:
    """The sharded job on ``executor_def``: the steps and their config are the same on any
    executor (run config: ``ops.plan_shards.config`` from/to/shards)."""

    @dg.job(
        name=name,
        executor_def=executor_def,
        description=(
            "Score a range of months, each in N partner shards (op config plan_shards: from, to, "
            "shards), one step per shard, and publish each month at once when all its shards are "
            f"staged. Executor: {executor_def.name}."
        ),
        tags={"pcs/job": "sharded months"},
    )
    def _job():
        publish_months(plan_shards().map(score_shard).collect())

    return _job


score_months_sharded_job = sharded_job()


def run_config(
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    shards: int | None = None,
    data: str | None = None,
    database: str | None = None,
    max_concurrent: int | None = None,
) -> dict:
    """Run config for the job: months, shards, data folder, results database, concurrency."""
    config: dict[str, Any] = {}
    plan: dict[str, Any] = {}
    if first is not None:
        plan |= {"from": f"{first:%Y-%m}", "to": f"{(last or first):%Y-%m}"}
    if shards is not None:
        plan["shards"] = shards
    if plan:
        config["ops"] = {"plan_shards": {"config": plan}}
    resources = resource_config(data=data, database=database)
    if resources:
        config["resources"] = resources
    if max_concurrent is not None:
        config["execution"] = {"config": {"max_concurrent": max_concurrent}}
    return config
