"""The "Loads" page: an Airflow 3 plugin (FastAPI app + nav external view) over the audit table.

``app.py`` wires the routes; ``access.py`` puts them behind Airflow's own login and permissions
(and says which load DAGs a user may read); ``filters.py`` validates the query string;
``table_rows.py`` and ``charts.py`` shape audit records for the table, the CSV export and the
charts; ``overview.py`` gives each dataset's last load, status, freshness and rows per day, and the
unrouted files; ``objects.py`` streams manifests and rejects from S3; ``aws_clients.py`` keeps the
AWS clients (from Airflow's connection); ``routes.py`` says where the page lives; ``lazy.py`` defers
the app's import to the api-server's first request. The AirflowPlugin class lives in
``plugins/csv2ddb_ui_plugin.py`` (Airflow's plugin manager does not look inside this package, see
``plugins/.airflowignore``). Docs: ``docs/ui.md``.
"""
