"""The Secrets Manager secret holding the Airflow API login the Lambda uses.

Value: JSON ``{"username", "password"}`` from ``CSV2DDB_AIRFLOW_API_USERNAME`` /
``CSV2DDB_AIRFLOW_API_PASSWORD`` when set (then status checks it and create fixes it). When
they are unset, create stores a generated password once and never overwrites the value later:
set it to your Airflow user's password with those variables or in the console. Values are
never logged or reported, only whether they match.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets

from botocore.exceptions import ClientError

from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.model import MISSING, Observation

USERNAME_ENV = "CSV2DDB_AIRFLOW_API_USERNAME"
PASSWORD_ENV = "CSV2DDB_AIRFLOW_API_PASSWORD"
DEFAULT_USERNAME = "csv2ddb-trigger"  # the trigger's own least-role account (docs/bootstrap.md)


class AirflowApiSecret(Resource):
    kind = "secret"

    @property
    def name(self) -> str:
        return self.settings.airflow_api_secret_name

    def _wanted(self) -> dict[str, str] | None:
        """The login from the environment, or None when the value is not managed here."""
        env = os.environ if self.ctx.env is None else self.ctx.env
        password = env.get(PASSWORD_ENV)
        if not password:
            return None
        return {"username": env.get(USERNAME_ENV) or DEFAULT_USERNAME, "password": password}

    def observe(self) -> Observation:
        sm = self.ctx.client("secretsmanager")
        try:
            described = sm.describe_secret(SecretId=self.name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return MISSING
            raise
        actual = tags.from_list(described.get("Tags"))
        if not tags.is_owned(actual, self.settings):
            return Observation(exists=True, owned=False)
        drift = tags.drift(actual, self.settings)
        notes: list[str] = []
        if described.get("DeletedDate"):
            drift.append("scheduled for deletion")
            return Observation(exists=True, drift=tuple(drift))
        value = self._current_value()
        if value is None or not {"username", "password"} <= set(value):
            drift.append('value is not JSON {"username", "password"}')
        elif self._wanted() is None:
            notes.append(f"value not managed here ({PASSWORD_ENV} unset)")
        elif value != self._wanted():
            drift.append(f"value differs from {USERNAME_ENV}/{PASSWORD_ENV} (not shown)")
        return Observation(exists=True, drift=tuple(drift), notes=tuple(notes))

    def _current_value(self) -> dict[str, str] | None:
        try:
            raw = self.ctx.client("secretsmanager").get_secret_value(SecretId=self.name)["SecretString"]
            value = json.loads(raw)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):  # exists without any value yet
                return None
            raise
        except (KeyError, json.JSONDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def create(self) -> str:
        wanted = self._wanted()
        value = wanted or {"username": DEFAULT_USERNAME, "password": pysecrets.token_urlsafe(24)}
        self.ctx.client("secretsmanager").create_secret(
            Name=self.name,
            Description=f"csv2ddb {self.settings.prefix}: Airflow API login used by the trigger Lambda",
            SecretString=json.dumps(value),
            Tags=tags.as_list(self.settings.tags),
        )
        if wanted:
            return f"value from {USERNAME_ENV}/{PASSWORD_ENV}"
        return f"generated password (set {PASSWORD_ENV} and re-run create to use your Airflow login)"

    def repair(self, observed: Observation) -> str:
        sm = self.ctx.client("secretsmanager")
        if "scheduled for deletion" in observed.drift:
            sm.restore_secret(SecretId=self.name)
        sm.tag_resource(SecretId=self.name, Tags=tags.as_list(self.settings.tags))
        wanted = self._wanted()
        if wanted is not None and self._current_value() != wanted:
            sm.put_secret_value(SecretId=self.name, SecretString=json.dumps(wanted))
        elif wanted is None and self._current_value() is None:
            value = {"username": DEFAULT_USERNAME, "password": pysecrets.token_urlsafe(24)}
            sm.put_secret_value(SecretId=self.name, SecretString=json.dumps(value))
        return "; ".join(observed.drift)

    def delete(self) -> str:
        # Without recovery: a secret in its recovery window blocks creating the same name again.
        self.ctx.client("secretsmanager").delete_secret(SecretId=self.name, ForceDeleteWithoutRecovery=True)
        return "deleted without recovery window"
