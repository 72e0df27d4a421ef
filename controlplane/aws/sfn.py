"""Operations run as Step Functions executions named after them (deterministic: a replay is the same one)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from controlplane.aws.clients import ClientError, error_code, translated


class StepFunctionsExecutor:
    def __init__(self, client: Any, state_machine_prefix: Callable[[], str]) -> None:
        """state_machine_prefix(): the ARN up to the machine's name, e.g.
        arn:aws:states:<region>:<account>:stateMachine:cart-controlplane-<stage>- (found lazily: it may need STS)."""
        self._sfn = client
        self._prefix = state_machine_prefix

    def execution_arn(self, machine: str, name: str) -> str:
        return f"{self._prefix()}{machine}".replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        try:
            with translated():
                return str(
                    self._sfn.start_execution(
                        stateMachineArn=f"{self._prefix()}{machine}", name=name, input=json.dumps(payload)
                    )["executionArn"]
                )
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":  # same name, same input: it is already running
                return self.execution_arn(machine, name)
            raise

    def status(self, execution_arn: str) -> str | None:
        try:
            with translated():
                return str(self._sfn.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return None
            raise


class TaskTokens:
    """Sends a parked task token's result. A token already closed (timed out, execution stopped) is no error."""

    GONE = ("InvalidToken", "TaskTimedOut", "TaskDoesNotExist")

    def __init__(self, client: Any) -> None:
        self._sfn = client

    def success(self, token: str, output: dict[str, Any]) -> None:
        self._send(lambda: self._sfn.send_task_success(taskToken=token, output=json.dumps(output, default=str)))

    def failure(self, token: str, error: str, cause: str) -> None:
        self._send(lambda: self._sfn.send_task_failure(taskToken=token, error=error[:256], cause=cause[:32768]))

    def _send(self, call: Callable[[], Any]) -> None:
        try:
            with translated():
                call()
        except ClientError as exc:
            if error_code(exc) not in self.GONE:
                raise
