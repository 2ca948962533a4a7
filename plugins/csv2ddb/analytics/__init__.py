"""The analytics side of a load: the processed zone's catalog partitions, the Athena
reconciliation, CloudWatch metrics and staleness (docs/analytics.md).

Plain functions over the Amazon provider's hooks, so each is testable without a scheduler; the
DAG's verify step calls :func:`csv2ddb.analytics.step.analyze_loads` once per file, or once for
all the files of a group run.
"""
