"""``EventLogValues``, the IO manager of the step jobs' small values (a month to score, a month's
outcome): each output is kept as JSON in the metadata of its own ``HANDLED_OUTPUT`` event in
Dagster's event log, and read back from there. Any process that reaches the instance's storage
reads it, so steps on other machines (Celery workers) share no filesystem; the UI shows each
value beside its step. Values only, never frames (those go to the results database). Why:
docs/architecture.md, "Orchestration"."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

IO_MANAGER_KEY = "step_values"
VALUE = "pcs/value"
MAPPING_KEY = "pcs/mapping_key"


class EventLogValues(dg.IOManager):
    """JSON values in the metadata of the ``HANDLED_OUTPUT`` events of the run that made them."""

    def __init__(self) -> None:
        # (run id, step key, output name, mapping key) -> value, of the runs this step has read:
        # a fan-in step (``collect()``) loads n values with one read of the run's events, not n
        self._seen: dict[tuple[str, str, str, str], Any] = {}

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        try:
            json.dumps(obj)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{IO_MANAGER_KEY}: output {context.name!r} of step {context.step_key} is not JSON: {exc}"
            ) from exc
        context.add_output_metadata(
            {
                VALUE: dg.MetadataValue.json({"value": obj}),
                MAPPING_KEY: dg.MetadataValue.text(context.mapping_key or ""),
            }
        )

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        if upstream is None:
            raise dg.DagsterInvariantViolationError(f"{IO_MANAGER_KEY}: input {context.name!r} has no upstream output")
        key = (upstream.run_id, upstream.step_key, upstream.name, upstream.mapping_key or "")
        if key not in self._seen:
            self._read_run(context.instance, upstream.run_id)
        if key not in self._seen:
            raise dg.DagsterInvariantViolationError(
                f"{IO_MANAGER_KEY}: no value of output {upstream.name!r} (mapping key "
                f"{upstream.mapping_key!r}) of step {upstream.step_key} in the event log of run {upstream.run_id}"
            )
        return self._seen[key]

    def _read_run(self, instance: dg.DagsterInstance, run_id: str) -> None:
        """Every value the run has logged; a step that ran twice (a Celery message delivered
        again) logged its values twice, and the later ones win."""
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.HANDLED_OUTPUT):
            data = record.dagster_event.event_specific_data
            if VALUE not in data.metadata:
                continue
            mapping = data.metadata.get(MAPPING_KEY)
            key = (run_id, record.step_key, data.output_name, mapping.value if mapping else "")
            self._seen[key] = data.metadata[VALUE].value["value"]


@dg.io_manager(description="Small JSON values in the event log of the run (orchestration/outputs.py).")
def event_log_values() -> EventLogValues:
    return EventLogValues()
