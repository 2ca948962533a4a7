"""The page's fixed prose: how every contender is verified and how each figure is taken.

Kept apart from the code that fills in the figures, so a change of method is one edit here.
"""

from __future__ import annotations

RESULTS_INTRO = """\
Every contender loads the same rows into a fresh table of the same emulator instance, one after
the other; the table is then verified and dropped: its item count must equal the file's
distinct keys (`ItemCount`, which ministack keeps live on every write; on AWS it lags by hours),
and 2,000 expected keys (a fixed-seed sample) must all be found by `BatchGetItem`. Not a `Scan`
`COUNT`: ministack sorts the whole table for every 1 MB Scan page, so counting 336 k items that
way takes minutes per table (see the DAG row below); looking up all 336 k keys took over 5 minutes on a loaded
machine. Rows "(sink)" ran against the null sink (see below); it counts distinct keys.
"""

HOW_TAKEN = """\
## How the figures are taken

- **wall s / rows/s**: the contender's load phase. For csv2ddb's Glue job that is the whole
  process (`python glue/csv2ddb_load_job.py --source_bucket … --table … --run_id …`, the same script
  and arguments Glue runs), interpreter start and the S3 read included. For in-process contenders
  it starts after imports (and after the ceiling has pre-built its items) and ends when the last
  write returned.
- **× ceiling**: rows/s ÷ the best ceiling run on the same file (the sweep over thread counts).
  The ceiling pushes items pre-built in memory by the job's own row functions (`RowBuilder`,
  `DedupeIndex`), so they are the loader's items exactly, and JSON-encodes every request body
  before the clock starts; timed are only the concurrent `BatchWriteItem` calls (botocore signs
  and sends them, parameter validation off, as in the job): the fastest this emulator takes
  writes from a Python client. The sweep over thread counts picks the best.
- **Two item shapes, two ceilings**: the loader's items are *typed* (numbers as `N`, plus
  `ingestion_timestamp`, `source_file`, `load_run_id`); the peers write every column as a string.
  ministack spends much more CPU storing a typed item than a string one (its number
  normalisation), and it is the bottleneck, so each shape has its own ceiling sweep and every
  row's "× ceiling" is against the ceiling of its own shape. The loader also runs with
  `--type_map '{"*": "S"}'` (every column a string, as the peers write): the like-for-like
  comparison with the peers.
- **client CPU s**: user+system CPU of the contender's own process during the load phase (all its
  threads; for the job, the whole process); per million rows to compare across files.
  **peak RSS**: the contender process's peak resident set (`VmHWM`, polled); the ceiling's
  includes its pre-encoded bodies by design.
- **emulator CPU s (cores)**: CPU the ministack process used during the contender
  (`/proc/<pid>/stat`), and that divided by wall seconds: how much of the 2 cores the server took.
- **items verified**: the table holds exactly as many items as the file has distinct keys, and
  a sample of those keys is there (see above). The peers
  cannot derive a key, so they read a copy of the file with an `id` column holding the loader's own
  ids (precomputed outside the clock); they load every non-key column as their library does
  (batch_writer and ImportTable: strings; awswrangler: pandas dtypes), while csv2ddb types numbers
  and adds `ingestion_timestamp`, `source_file`, `load_run_id` to every item.
- **ImportTable** runs inside the emulator (no HTTP per batch); its `ImportedItemCount` and
  `ErrorCount` are reconciled with the source row count as well as the table counted.
- **csv2ddb import path** (issue 14): the job with `--load_method import` stages the loader's
  typed items as gzip'd DynamoDB JSON, then ImportTable creates the table from them; its
  `ImportedItemCount` must equal the manifest's `rows_written` with `ErrorCount` 0. Its wall time
  is both parts (the split and the bytes staged are in its row); its client CPU includes the job's.
- **Glue job before the load core**: the round-1 one-file job (commit `0633102`, read from git
  history) on the same file in the same run: the "before" of the loader-vs-ceiling ratio.
- **Glue job before issue 21**: the job and its load core at commit `f4bda77` (`git archive`d into
  the run's folder; the script imports the core beside it), on the same file in the same run: the
  "before" of the client CPU per row.
- **Through the DAG** (the `csv2ddb_load DAG` row, `bench/dag_run.py`): `dag.test()` of the real
  DAG in the Airflow virtualenv against the same emulator, after a stack bootstrap and the upload
  (outside the clock). Its wall time is the whole DAG run: the Glue job (run by the emulator
  from the stack's copy of the same script), and the DAG's exact count check, which looks up the
  load's own key list with parallel `BatchGetItem` (until issue 12 it was a paginated `Scan` of the
  whole table, which ministack serves in O(N²): the "before" row); the table is verified like the
  others.
- **The count check against the table's size** (`bench/check_scale.py`): the DAG's check
  (`csv2ddb.load.counts.verify_load`) of the same load into an empty table and into one already holding
  3× as many other items; the loads are outside the clock.
- **The 5.7 M-row file** (17 copies of flights with a `copy` column; "the 5.6 M-row file" of the
  issue) runs the job directly, not through Glue (the emulator caps a Glue Python-shell run at
  600 s), and against `bench/sink.py`, a loopback null DynamoDB that counts distinct keys and
  keeps no item: ministack holds every item in memory, ~6 KB per flights item (+120 MB per 20 k
  items, measured), so 5.7 M items would need ~34 GB on this 24 GB machine. The same job also
  loads flights against the sink, so "rows/s at 336 k vs 5.7 M" compares like with like; the
  sink's CPU is in the server column.
"""
