"""Addresses in the AWS console, one definition for the Loads page, the demo and the bootstrap.

Only real AWS has a console: with an endpoint set (the local emulator) there is nothing to open,
so :func:`console_links` is False and callers show the name as text instead of a dead link.
The console's host follows the region's partition (``cn-*``: China, ``us-gov-*``: GovCloud).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from csv2ddb.settings import Settings

S3_SCHEME = "s3://"


def console_links(settings: Settings) -> bool:
    """True on real AWS (no endpoint set): a console address opens something."""
    return not settings.endpoint_url


def console_base(region: str) -> str:
    """``https://<region>.<partition's console host>``."""
    if region.startswith("cn-"):
        host = "console.amazonaws.cn"
    elif region.startswith("us-gov-"):
        host = "console.amazonaws-us-gov.com"
    else:
        host = "console.aws.amazon.com"
    return f"https://{region}.{host}"


def split_s3_uri(uri: str) -> tuple[str, str] | None:
    """``s3://bucket/key`` -> (bucket, key); None for anything else."""
    if not uri.startswith(S3_SCHEME):
        return None
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    return (bucket, key) if bucket else None


def s3_prefix_url(region: str, uri: str) -> str | None:
    """The S3 console's object list of a folder (``s3://bucket/prefix/``); None for a non-S3 uri."""
    parts = split_s3_uri(uri)
    if parts is None:
        return None
    bucket, prefix = parts
    query = urlencode({"region": region, "prefix": prefix, "showversions": "false"})
    return f"{console_base(region)}/s3/buckets/{quote(bucket, safe='')}?{query}"


def athena_query_url(region: str, query_id: str) -> str:
    """The Athena console's query history entry of one query execution."""
    return (
        f"{console_base(region)}/athena/home?region={region}#/query-editor/history/{quote(query_id, safe='')}"
    )


def cloudwatch_dashboard_url(region: str, name: str) -> str:
    """A CloudWatch dashboard in the console."""
    return f"{console_base(region)}/cloudwatch/home?region={region}#dashboards:name={quote(name, safe='')}"
