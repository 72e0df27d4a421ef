"""SigV4: the Authorization header with fake credentials and a fixed clock, checked against an independent
implementation of the algorithm; the region to sign for; what happens without credentials. No network."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from controlplane.aws import clients
from controlplane.cli.auth import Signer, signing_region
from controlplane.cli.errors import AuthFailed
from tests.cli.conftest import Ran

FIXED = datetime(2026, 11, 28, 1, 43, 25)
KEY, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLETOKEN"
URL = "https://abc123defg.execute-api.eu-central-1.amazonaws.com/v2/environments/dev/operations?status=FAILED&limit=5"
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake static credentials, no config files, no instance metadata, and a fixed clock."""
    for name in ("AWS_PROFILE", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: FIXED)
    clients._signing_sessions.clear()
    yield
    clients._signing_sessions.clear()


def expected_signature(method: str, url: str, headers: dict[str, str], body: bytes, region: str) -> str:
    """SigV4 written out from the specification (not botocore), for a path without characters to escape."""
    from urllib.parse import parse_qsl, quote, urlsplit

    parts = urlsplit(url)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(parse_qsl(parts.query)))
    canon = {k.lower(): " ".join(v.split()) for k, v in headers.items()} | {"host": parts.netloc}
    signed = ";".join(sorted(canon))
    canonical_request = "\n".join(
        [
            method,
            parts.path,
            query,
            "".join(f"{k}:{canon[k]}\n" for k in sorted(canon)),
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = FIXED.strftime("%Y%m%d")
    scope = f"{date}/{region}/execute-api/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            FIXED.strftime("%Y%m%dT%H%M%SZ"),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{SECRET}".encode()
    for part in (date, region, "execute-api", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_sign_request_makes_a_well_formed_sigv4_header(credentials: None) -> None:
    sent = {"Accept": "application/json"}
    headers = clients.sign_request("GET", URL, sent, None, region="eu-central-1")
    assert headers["X-Amz-Date"] == "20261128T014325Z"
    assert "X-Amz-Security-Token" not in headers
    match = AUTH_RE.match(headers["Authorization"])
    assert match, headers["Authorization"]
    assert match["key"] == KEY and match["date"] == "20261128" and match["region"] == "eu-central-1"
    assert match["signed"] == "accept;host;x-amz-date"
    signed_headers = {"Accept": "application/json", "X-Amz-Date": headers["X-Amz-Date"]}
    assert match["sig"] == expected_signature("GET", URL, signed_headers, b"", "eu-central-1")
    assert headers["Accept"] == "application/json"  # the caller's headers are kept


def test_a_body_and_a_session_token_are_signed(credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    body = b'{"image_tag": "v1.4.2"}'
    url = "https://abc123defg.execute-api.eu-central-1.amazonaws.com/v2/environments/dev/deployments"
    sent = {"Content-Type": "application/json", "Idempotency-Key": "release-1.4.2"}
    headers = clients.sign_request("POST", url, sent, body, region="eu-central-1")
    assert headers["X-Amz-Security-Token"] == TOKEN
    match = AUTH_RE.match(headers["Authorization"])
    assert match and match["signed"] == "content-type;host;idempotency-key;x-amz-date;x-amz-security-token"
    signed = {**sent, "X-Amz-Date": "20261128T014325Z", "X-Amz-Security-Token": TOKEN}
    assert match["sig"] == expected_signature("POST", url, signed, body, "eu-central-1")
    # signing is deterministic for a given clock
    assert clients.sign_request("POST", url, sent, body, region="eu-central-1") == headers


def test_no_credentials_is_a_signing_error_naming_the_cause(credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(clients.SigningUnavailable, match="no AWS credentials found"):
        clients.sign_request("GET", URL, {}, None, region="eu-central-1")
    with pytest.raises(clients.SigningUnavailable, match="could not be loaded: The config profile \\(ops\\)"):
        clients.sign_request("GET", URL, {}, None, region="eu-central-1", profile="ops")


def test_region_comes_from_the_profile_when_nothing_else_names_it(
    credentials: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").write_text("[profile ops]\nregion = ap-southeast-2\n")
    (tmp_path / "credentials").write_text(f"[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = {SECRET}\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    headers = clients.sign_request("GET", "https://api.example.com/environments", {}, None, profile="ops")
    assert "Credential=AKIDOPS/20261128/ap-southeast-2/execute-api/aws4_request" in headers["Authorization"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with pytest.raises(clients.SigningUnavailable, match="no AWS region"):
        clients.sign_request("GET", "https://api.example.com/environments", {}, None)


@pytest.mark.parametrize(
    ("endpoint", "explicit", "env_region", "expected"),
    [
        ("https://abc123.execute-api.eu-central-1.amazonaws.com/v2", None, "us-west-2", "eu-central-1"),
        ("https://abc123-vpce-0a1b2c.execute-api.ap-northeast-1.vpce.amazonaws.com/v2", None, None, "ap-northeast-1"),
        ("https://abc123.execute-api.eu-central-1.amazonaws.com/v2", "eu-west-1", None, "eu-west-1"),
        ("https://cart-api.example.com", None, "us-west-2", None),  # botocore's own lookup decides
        ("http://127.0.0.1:8000", None, None, "eu-central-1"),  # the sandbox signs for any region
        ("http://localhost:8000", None, "eu-west-3", None),
    ],
)
def test_the_region_to_sign_for(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, explicit: str | None, env_region: str | None, expected: str | None
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    if env_region:
        monkeypatch.setenv("AWS_REGION", env_region)
    assert signing_region(endpoint, explicit) == expected


def test_signer_turns_missing_credentials_into_an_auth_failure_with_a_hint(
    credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    api = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"
    with pytest.raises(AuthFailed) as raised:
        Signer(api)("GET", f"{api}/environments", {}, None)
    assert f"cannot sign the request to {api}" in raised.value.message
    assert raised.value.hint and "aws configure" in raised.value.hint
    # the local sandbox checks no signature: there, no credentials means an unsigned request, not a failure
    assert Signer("http://127.0.0.1:8000")("GET", "http://127.0.0.1:8000/environments", {"a": "b"}, None) == {"a": "b"}


def test_every_request_to_the_api_is_signed(cartctl: object, fake: object) -> None:
    from tests.cli.fakeapi import SIGV4, FakeControlApi

    assert isinstance(fake, FakeControlApi)
    fake.require_signature = True
    ran: Ran = cartctl("deploy", "dev", "--tag", "v1.4.2", "--wait")  # type: ignore[operator]
    assert ran.code == 0, ran.stderr
    assert len(fake.requests) >= 3  # the POST and the polls
    for request in fake.requests:
        assert SIGV4.match(request["headers"]["authorization"]), request
        assert re.fullmatch(r"\d{8}T\d{6}Z", request["headers"]["x-amz-date"])
    unsigned: Ran = cartctl("--no-sign", "environments", "list")  # type: ignore[operator]
    assert unsigned.code == 21
    assert "403" in unsigned.stderr and "GET /environments was denied: Missing Authentication Token" in unsigned.stderr
    assert "carried no SigV4 signature" in unsigned.stderr
