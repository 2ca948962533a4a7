"""Turn measured runs into the results document, the Markdown page, the chart and the targets.

Every verdict on a target is computed from the figures of the same run; nothing is typed.
``python -m bench.report RESULTS.json ...`` re-renders the page from saved results.

- ``results``: picking records (a contender's best run, its run's ceiling) and their display order
- ``targets``: the goals of the benchmark issue and their verdicts
- ``document``: the results document: built from a run, merged runs, or cut-short records
- ``tables``: the Markdown tables (every run, the DAG's time, the targets)
- ``narrative``: the page's fixed prose: how the figures are taken
- ``page``: docs/benchmarks.md, assembled
- ``chart``: the PNG chart (matplotlib)
- ``output``: where the page, the chart and the JSON are written
"""
