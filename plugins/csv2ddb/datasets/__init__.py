"""Datasets as code: one declarative file per kind of CSV file (docs/datasets.md)."""
