"""The Dagster side of pcs: monthly partitions, the scoring assets, their checks and automation.

- ``partitions``  the monthly partitions (``PCS_START_MONTH``), the 13-month lookback mapping
  and the backfill policy;
- ``assets``      one multi-asset that reads, validates, scores and writes a range of months
  (the snapshot asset, the six result tables and their checks);
- ``automation``  the job, the monthly schedule and the two file sensors.

``orchestration.definitions`` puts them together with the resources of
``orchestration.resources``.
"""
