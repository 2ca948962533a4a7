"""What was loaded, by whom, and undoing it: the audit store, lineage, rollback and their CLIs."""
