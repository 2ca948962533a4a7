"""The routing table the S3-event Lambda reads (``s3://<bucket>/<CSV2DDB_ROUTES_KEY>``): one route
per dataset file of the deployment (prefix, DAG, table, how its files arrive), built from the same
files the DAGs are built from, so the Lambda starts the right dataset's DAG without importing any.

``status`` shows drift when a dataset file changed since the last ``create`` (the table's SHA-256
against the one built from the files now), and ``create`` refuses to publish from a folder with a
bad dataset file: the message lists every file and field.
"""

from __future__ import annotations

import json

from csv2ddb.bootstrap.model import BootstrapError
from csv2ddb.bootstrap.script import UploadedArtifact


class RoutingTable(UploadedArtifact):
    kind = "routing-table"
    content_type = "application/json"

    @property
    def key(self) -> str:
        return self.settings.routes_key

    @property
    def label(self) -> str:
        return f"routes of {self.ctx.sources.datasets_dir}"

    def local_bytes(self) -> bytes:
        # Imported here: it reads dataset files (YAML), which the bench's venv lacks.
        from csv2ddb.datasets.route_table import routing_table

        found = self.ctx.datasets()
        if found.errors:
            raise BootstrapError(
                "dataset files with errors, no routing table published:\n"
                + "\n".join(f"  {error}" for error in found.errors)
            )
        return json.dumps(routing_table(found.datasets), indent=2, sort_keys=True).encode()
