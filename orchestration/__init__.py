"""Dagster only: the monthly partitions, the scoring assets and their checks, the parallel job,
the schedule and sensors; it drives ``scoring`` and ``storage`` (see docs/architecture.md)."""
