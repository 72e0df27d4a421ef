"""Pagination cursors: an opaque, URL-safe token for "the page after this key", checked when read back."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from controlplane.ports import BadCursor

MAX_CURSOR_LENGTH = 2048
_FOREIGN = "the cursor is not one this API returned (use the 'next' value as it is)"


def encode(key: dict[str, Any]) -> str:
    raw = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, scope: str) -> dict[str, Any]:
    """The key a cursor carries; BadCursor unless it is one this registry made for ``scope``."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_LENGTH:
        raise BadCursor(_FOREIGN)
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor(_FOREIGN) from None
    if not isinstance(data, dict) or data.get("scope") != scope:
        raise BadCursor("the cursor belongs to another listing")
    return data


INDEX_KEY = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})  # a gsi1 query's LastEvaluatedKey: the table's and the index's


def start_key(cursor: str, scope: str, partition: str) -> dict[str, Any]:
    """The DynamoDB ``ExclusiveStartKey`` a cursor carries, checked to be a gsi1 key of ``partition`` (a forged
    cursor is a 400 here, not a refused Query)."""
    key = decode(cursor, scope).get("key")
    if not (
        isinstance(key, dict)
        and set(key) == INDEX_KEY
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
        and key["gsi1pk"]["S"] == partition
    ):
        raise BadCursor(_FOREIGN)
    return key


def after(cursor: str, scope: str, shape: type) -> Any:
    """The in-memory registry's "after this key" a cursor carries, checked to be of ``shape`` (str or list)."""
    value = decode(cursor, scope).get("after")
    if not isinstance(value, shape):
        raise BadCursor(_FOREIGN)
    if isinstance(value, list) and not (
        len(value) == 2 and isinstance(value[0], int | float) and isinstance(value[1], str)
    ):
        raise BadCursor(_FOREIGN)
    return value
