"""Operations run as Step Functions executions; the execution name is the operation id (deterministic)."""

from __future__ import annotations

import json
from typing import Any

from controlplane.aws.clients import ClientError, error_code, translated
from controlplane.domain.model import OpKind


class StepFunctionsExecutor:
    def __init__(self, client: Any, state_machine_prefix: str) -> None:
        """state_machine_prefix: ARN up to the kind, e.g. arn:aws:states:r:a:stateMachine:cart-controlplane-dev-"""
        self._sfn = client
        self._prefix = state_machine_prefix

    def state_machine_arn(self, kind: OpKind) -> str:
        return f"{self._prefix}{kind.value}"

    def start(self, kind: OpKind, name: str, payload: dict[str, Any]) -> str:
        return self.start_batch(kind.value, name, payload)

    def start_batch(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        arn = f"{self._prefix}{machine}"
        try:
            with translated():
                return str(
                    self._sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
                )
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":  # same name, same input: it is already running
                return arn.replace(":stateMachine:", ":execution:") + f":{name}"
            raise

    def status(self, execution_arn: str) -> str | None:
        try:
            with translated():
                return str(self._sfn.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return None
            raise

    def stop(self, execution_arn: str, cause: str) -> None:
        with translated():
            self._sfn.stop_execution(executionArn=execution_arn, error="Cancelled", cause=cause[:256])


class TaskTokens:
    """Sends a waiting state's result. A token already closed (timed out, execution stopped) is not an error."""

    GONE = ("InvalidToken", "TaskTimedOut", "TaskDoesNotExist")

    def __init__(self, client: Any) -> None:
        self._sfn = client

    def success(self, token: str, output: dict[str, Any]) -> None:
        self._send(lambda: self._sfn.send_task_success(taskToken=token, output=json.dumps(output)))

    def failure(self, token: str, error: str, cause: str) -> None:
        self._send(lambda: self._sfn.send_task_failure(taskToken=token, error=error[:256], cause=cause[:32768]))

    def _send(self, call: Any) -> None:
        try:
            with translated():
                call()
        except ClientError as exc:
            if error_code(exc) not in self.GONE:
                raise
