"""Pagination cursors: an opaque, URL-safe token for "the page after this key", checked when read back."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from controlplane.ports import BadCursor

MAX_CURSOR_LENGTH = 2048


def encode(key: dict[str, Any]) -> str:
    raw = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, scope: str) -> dict[str, Any]:
    """The key a cursor carries; BadCursor unless it is one this registry made for ``scope``."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_LENGTH:
        raise BadCursor("the cursor is not one this API returned (use the 'next' value as it is)")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("the cursor is not one this API returned (use the 'next' value as it is)") from None
    if not isinstance(data, dict) or data.get("scope") != scope:
        raise BadCursor("the cursor belongs to another listing")
    return data
