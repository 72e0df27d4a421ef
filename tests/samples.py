"""Real-shaped events: the AWS documentation's samples (tests/events/), with the values a test needs."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent / "events"


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def ecr_push(
    repository: str = "cart-service-dev",
    tag: str | None = "latest",
    image_digest: str | None = None,
    time: str = "2026-11-25T20:00:00Z",
    **detail: Any,
) -> dict[str, Any]:
    event = copy.deepcopy(load("ecr-image-push.json"))
    event["time"] = time
    event["detail"]["repository-name"] = repository
    event["detail"]["image-digest"] = image_digest or digest(f"{repository}:{tag}")
    if tag is None:
        del event["detail"]["image-tag"]
    else:
        event["detail"]["image-tag"] = tag
    event["detail"].update(detail)
    return event
