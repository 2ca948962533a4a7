"""csv2ddb benchmarks: our Glue job beside the emulator's write ceiling and the usual peers.

Run ``make bench`` (flights, 336,776 rows) or ``make bench-quick`` (a 20k-row slice); see
docs/benchmarks.md for the figures and how they are taken.
"""
