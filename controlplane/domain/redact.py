"""What an operation record may say about a failure: the account id never leaves the account's own logs.

Operation records are read by everyone with API access (and printed by the CLI, pasted into tickets); an AWS error
names ARNs and principals with the account id in them. ``redact`` masks every 12-digit account id, keeping the rest
(the action, the role's name, the resource) that makes the message useful. Identifiers the control plane records
itself (``*_arn`` fields, which the environment's record and the execution carry too) are kept whole: an operator
copies them into the console or the CLI.
"""

from __future__ import annotations

import re
from typing import Any

ACCOUNT_ID = re.compile(r"(?<![\w.])\d{12}(?![\w])")
MASK = "<account>"


def redact(text: str) -> str:
    """``text`` with every account id (12 digits standing alone, as in an ARN or a principal) masked."""
    return ACCOUNT_ID.sub(MASK, text)


def redact_all(value: Any) -> Any:
    """``redact`` over every string of a JSON-like value (dicts, lists), keys and ``*_arn`` fields left whole."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: v if str(k).endswith("_arn") else redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_all(v) for v in value]
    return value
