"""A moto server with the three calls the aws provider makes for terraform/controlplane and moto 5.2.5 lacks.

    python tests/terraform/moto_patched_server.py -H 127.0.0.1 -p PORT

- states:ValidateStateMachineDefinition (the provider validates the ASL at plan time): answers OK;
- states:ListStateMachineVersions (read on refresh): answers no versions;
- apigateway:PutRestApi with a Swagger 2.0 body (what `chalice package` emits): moto imports only OpenAPI 3; the
  paths / x-amazon-apigateway-integration layout is the same, so the document is relabelled and imported.
test_integration.py::test_moto_patches_are_still_needed is the canary: it fails once moto does these itself.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.apigateway.models import APIGatewayBackend
from moto.core.responses import ActionResult
from moto.stepfunctions.responses import StepFunctionResponse

_put_rest_api = APIGatewayBackend.put_rest_api


def validate_state_machine_definition(self: Any) -> ActionResult:
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})


def list_state_machine_versions(self: Any) -> ActionResult:
    return ActionResult({"stateMachineVersions": []})


def put_rest_api(
    self: Any, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool, mode: str = "merge"
) -> Any:
    if api_doc.get("swagger"):
        api_doc = {k: v for k, v in api_doc.items() if k != "swagger"} | {"openapi": "3.0.1"}
    return _put_rest_api(self, function_id, api_doc, False, mode)


def install() -> None:
    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]
    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    from moto.server import main

    main(sys.argv[1:])
