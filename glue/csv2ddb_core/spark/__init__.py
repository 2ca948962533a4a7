"""The Spark engine's half of the load core: split planning, ranged reads, the per-partition load,
the driver's manifest and artifacts, the Parquet zone. Still stdlib + boto3 (pyspark appears only in
``glue/csv2ddb_spark_job.py``); the Python shell never imports this package."""
