"""Conditional writes, still batched: PartiQL ``BatchExecuteStatement``, 25 statements a call.

- ``insert``: ``INSERT`` never replaces an item; DynamoDB answers ``DuplicateItem`` for a key that
  exists, and that row counts as skipped.
- ``upsert_newer``: ``INSERT`` first (new keys are written); each ``DuplicateItem`` is retried as
  ``UPDATE ... WHERE <version> < ?``, which sets the file's columns (and removes the ones empty in
  this row) only when the row's version is greater than the stored one; ``ConditionalCheckFailed``
  (stored version is the same or newer, or has none) counts as skipped. Attributes of the stored
  item that the file has no column for are kept.

BatchWriteItem cannot carry a condition and PutItem with a ConditionExpression is one call per
row; PartiQL keeps 25 conditional writes per round trip. Answers are per statement, so throttled
statements are retried alone, with the same bounded, jittered policy as BatchWriteItem.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import botocore.exceptions

from csv2ddb_core.contract import (
    R_DYNAMODB_REJECTED,
    RETRYABLE_ERROR_CODES,
    WRITE_UPSERT_NEWER,
    JobError,
    Reject,
)
from csv2ddb_core.writer import BatchWriter, Entry, for_botocore

# Per-statement error codes (BatchStatementError.Code) worth retrying.
RETRYABLE_STATEMENT_CODES = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "InternalServerError"}
    | {"TransactionConflict"}
)
SKIP_CODES = frozenset({"DuplicateItem", "ConditionalCheckFailed"})


def quoted(name: str) -> str:
    """A PartiQL identifier (double quotes, doubled inside)."""
    return '"' + name.replace('"', '""') + '"'


def string_literal(name: str) -> str:
    """A PartiQL string literal (single quotes, doubled inside): the keys of an INSERT tuple."""
    return "'" + name.replace("'", "''") + "'"


class ConditionalWriter(BatchWriter):
    """The same queue, threads, key list, rate cap and retry policy; PartiQL statements instead."""

    def __init__(self, *args: Any, mode: str, version_column: str, columns: Sequence[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._mode = mode
        self._version = version_column
        self._columns = tuple(columns)
        self._table_ref = quoted(self._table)

    # --- statements ------------------------------------------------------------------------
    def insert_statement(self, item: Dict[str, Any]) -> Dict[str, Any]:
        names = sorted(item)
        fields = ", ".join(f"{string_literal(n)}: ?" for n in names)
        return {
            "Statement": f"INSERT INTO {self._table_ref} VALUE {{{fields}}}",
            "Parameters": [item[n] for n in names],
        }

    def update_statement(self, item: Dict[str, Any]) -> Dict[str, Any]:
        keys = self._key_names
        sets = sorted(n for n in item if n not in keys)
        removes = sorted(n for n in self._columns if n not in item and n not in keys)
        clauses = [f"SET {quoted(n)}=?" for n in sets] + [f"REMOVE {quoted(n)}" for n in removes]
        where = [f"{quoted(n)}=?" for n in keys] + [f"{quoted(self._version)} < ?"]
        return {
            "Statement": f"UPDATE {self._table_ref} {' '.join(clauses)} WHERE {' AND '.join(where)}",
            "Parameters": [item[n] for n in sets] + [item[n] for n in keys] + [item[self._version]],
        }

    # --- one batch ---------------------------------------------------------------------------
    def _write_batch(self, batch: List[Entry]) -> None:
        duplicates = self._run(batch, self.insert_statement, updating=False)
        if duplicates and self._mode == WRITE_UPSERT_NEWER:
            self._run(duplicates, self.update_statement, updating=True)

    def _run(self, entries: List[Entry], statement: Any, updating: bool) -> List[Entry]:
        """Send ``entries`` as statements until each is written, skipped or rejected; return the
        entries an INSERT found already there (``DuplicateItem``), for upsert's UPDATE phase."""
        pending = list(entries)
        duplicates: List[Entry] = []
        attempt = 0
        while pending:
            attempt += 1
            items = [entry[0]["PutRequest"]["Item"] for entry in pending]
            responses = self._execute([statement(item) for item in items], items, attempt)
            if responses is None:
                continue
            retry: List[Entry] = []
            written: List[Dict[str, Any]] = []
            for entry, item, answer in zip(pending, items, responses):
                code = (answer.get("Error") or {}).get("Code")
                if code is None:
                    written.append(item)
                elif code == "DuplicateItem" and not updating and self._mode == WRITE_UPSERT_NEWER:
                    duplicates.append(entry)
                elif code in SKIP_CODES:
                    self._count(skipped=1)
                elif code == "ValidationError":
                    message = (answer.get("Error") or {}).get("Message") or code
                    self._rejects.add(entry[1], Reject(R_DYNAMODB_REJECTED, message), entry[2])
                    self._count(rejected=1)
                elif code in RETRYABLE_STATEMENT_CODES:
                    retry.append(entry)
                else:
                    message = (answer.get("Error") or {}).get("Message")
                    raise JobError(f"BatchExecuteStatement on {self._table}: {code}: {message}")
            self._keys.add(written)
            self._count(written=len(written))
            if retry:
                self._retry_or_fail(attempt, len(retry), f"{len(retry)} throttled statement(s)")
            pending = retry
        return duplicates

    def _execute(
        self, statements: List[Dict[str, Any]], items: List[Dict[str, Any]], attempt: int
    ) -> Optional[List[Dict[str, Any]]]:
        """The per-statement answers, or None after a whole-call retryable failure (backed off)."""
        if self._rate is not None:
            self._rate.before_call(items)
        for stmt in statements:
            stmt["Parameters"] = [for_botocore({"v": p})["v"] for p in stmt["Parameters"]]
        try:
            response = self._client.batch_execute_statement(Statements=statements)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE_ERROR_CODES:
                raise JobError(f"BatchExecuteStatement on {self._table} failed ({code}): {exc}") from exc
            self._retry_or_fail(attempt, len(statements), code)
            return None
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
            self._retry_or_fail(attempt, len(statements), type(exc).__name__)
            return None
        answers = response.get("Responses", [])
        if len(answers) != len(statements):
            count = f"{len(answers)} of {len(statements)}"
            raise JobError(f"BatchExecuteStatement on {self._table} answered {count} statements")
        return answers
