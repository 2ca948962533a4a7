"""One file's load from the DAG's side: the trigger form, the plan, the Glue and import steps,
the count check."""
