"""The registry in one DynamoDB table (keys pk/sk, GSI gsi1 on gsi1pk/gsi1sk).

| item        | pk            | sk   | gsi1pk          | gsi1sk                 |
|-------------|---------------|------|-----------------|------------------------|
| environment | ENV#<name>    | ENV  | ENVS            | <name>                 |
| lock        | ENV#<name>    | LOCK |                 |                        |
| operation   | OP#<id>       | OP   | ENVOPS#<name>   | <created_at>#<id>      |
| idempotency | IDEM#<key>    | IDEM |                 |                        |
| newest push | ENV#<name>    | PUSH |                 |                        |
| keep-alive  | ENV#<name>    | KEEPALIVE | KEEPALIVES | <name>                 |
| snapshot    | ENV#<name>    | SNAPSHOT |              |                        |
| task token  | WAIT#<key>    | WAIT |                 |                        |

Documents are stored as JSON strings; step records live in a map attribute so each step is one small update.
The lock and every "create" are conditional writes.
"""

from __future__ import annotations

import json
from typing import Any

from controlplane.aws.clients import ClientError, conditional_check_failed, translated
from controlplane.domain.events import PushRecord
from controlplane.domain.model import Environment, Lock, Operation, OpStatus, StepRecord
from controlplane.domain.schedule import Snapshot
from controlplane.ports import LockHeld, OperationExists

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
WAIT_TTL_SECONDS = 3 * 24 * 3600


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(float(value))}


class DynamoStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # environments -------------------------------------------------------------------------------------------
    def _env_item(self, env: Environment) -> dict[str, Any]:
        return {
            "pk": _s(f"ENV#{env.name}"),
            "sk": _s("ENV"),
            "gsi1pk": _s("ENVS"),
            "gsi1sk": _s(env.name),
            "doc": _s(json.dumps(env.to_dict(), sort_keys=True)),
        }

    def get_environment(self, name: str) -> Environment | None:
        with translated():
            item = self._db.get_item(
                TableName=self._table, Key={"pk": _s(f"ENV#{name}"), "sk": _s("ENV")}, ConsistentRead=True
            ).get("Item")
        return Environment.from_dict(json.loads(item["doc"]["S"])) if item else None

    def list_environments(self) -> list[Environment]:
        envs: list[Environment] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": _s("ENVS")},
        }
        with translated():
            while True:
                page = self._db.query(**kwargs)
                envs += [Environment.from_dict(json.loads(i["doc"]["S"])) for i in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(envs, key=lambda e: e.name)

    def put_environment(self, env: Environment) -> None:
        with translated():
            self._db.put_item(TableName=self._table, Item=self._env_item(env))

    def create_environment(self, env: Environment) -> bool:
        try:
            with translated():
                self._db.put_item(
                    TableName=self._table,
                    Item=self._env_item(env),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    # operations ---------------------------------------------------------------------------------------------
    def create_operation(self, op: Operation) -> None:
        doc = op.to_dict()
        doc.pop("steps")
        try:
            self._put_operation(op, doc)
        except ClientError as exc:
            if conditional_check_failed(exc):
                raise OperationExists(op.id) from None
            raise

    def _put_operation(self, op: Operation, doc: dict[str, Any]) -> None:
        with translated():
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"OP#{op.id}"),
                    "sk": _s("OP"),
                    "gsi1pk": _s(f"ENVOPS#{op.environment}"),
                    "gsi1sk": _s(f"{op.created_at:017.6f}#{op.id}"),
                    "status": _s(op.status.value),
                    "doc": _s(json.dumps(doc, sort_keys=True)),
                    "steps": {"M": {s.name: _s(json.dumps(s.to_dict())) for s in op.steps}},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )

    @staticmethod
    def _op_from_item(item: dict[str, Any]) -> Operation:
        doc = json.loads(item["doc"]["S"])
        doc["status"] = item["status"]["S"]
        doc["steps"] = sorted(
            (json.loads(v["S"]) for v in item.get("steps", {}).get("M", {}).values()), key=lambda s: s["seq"]
        )
        return Operation.from_dict(doc)

    def get_operation(self, op_id: str) -> Operation | None:
        with translated():
            item = self._db.get_item(
                TableName=self._table, Key={"pk": _s(f"OP#{op_id}"), "sk": _s("OP")}, ConsistentRead=True
            ).get("Item")
        return self._op_from_item(item) if item else None

    def list_operations(self, environment: str, limit: int = 50) -> list[Operation]:
        with translated():
            page = self._db.query(
                TableName=self._table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :p",
                ExpressionAttributeValues={":p": _s(f"ENVOPS#{environment}")},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [self._op_from_item(i) for i in page.get("Items", [])]

    def record_step(self, op_id: str, step: StepRecord) -> None:
        with translated():
            self._db.update_item(
                TableName=self._table,
                Key={"pk": _s(f"OP#{op_id}"), "sk": _s("OP")},
                UpdateExpression="SET steps.#n = :rec",
                ExpressionAttributeNames={"#n": step.name},
                ExpressionAttributeValues={":rec": _s(json.dumps(step.to_dict()))},
                ConditionExpression="attribute_exists(pk)",
            )

    def _update_doc(self, op_id: str, changes: dict[str, Any], status: OpStatus | None = None) -> bool:
        op = self.get_operation(op_id)
        if op is None:
            raise KeyError(op_id)
        doc = op.to_dict()
        doc.pop("steps")
        doc.update(changes)
        names = {"#d": "doc", "#s": "status"}
        values: dict[str, Any] = {":doc": _s(json.dumps(doc, sort_keys=True)), ":running": _s("RUNNING")}
        expr = "SET #d = :doc"
        if status is not None:
            expr += ", #s = :new"
            values[":new"] = _s(status.value)
        try:
            with translated():
                self._db.update_item(
                    TableName=self._table,
                    Key={"pk": _s(f"OP#{op_id}"), "sk": _s("OP")},
                    UpdateExpression=expr,
                    ConditionExpression="#s = :running",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    def set_execution(self, op_id: str, execution_arn: str) -> None:
        self._update_doc(op_id, {"execution_arn": execution_arn})

    def finish_operation(
        self,
        op_id: str,
        status: OpStatus,
        ended_at: float,
        error: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        op = self.get_operation(op_id)
        if op is None or op.status.finished:
            return False
        return self._update_doc(
            op_id, {"ended_at": ended_at, "error": error, "result": {**op.result, **(result or {})}}, status
        )

    # lock ---------------------------------------------------------------------------------------------------
    def acquire_lock(self, environment: str, op_id: str, now: float, lease_seconds: float) -> Lock:
        expires = now + lease_seconds
        try:
            with translated():
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": _s(f"ENV#{environment}"),
                        "sk": _s("LOCK"),
                        "operation_id": _s(op_id),
                        "expires_at": _n(expires),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR operation_id = :me OR expires_at <= :now",
                    ExpressionAttributeValues={":me": _s(op_id), ":now": _n(now)},
                )
        except ClientError as exc:
            if not conditional_check_failed(exc):
                raise
            held = self.get_lock(environment)
            if held is None:  # released between our write and our read: try once more
                return self.acquire_lock(environment, op_id, now, lease_seconds)
            raise LockHeld(held) from None
        return Lock(environment=environment, operation_id=op_id, expires_at=expires)

    def release_lock(self, environment: str, op_id: str) -> bool:
        try:
            with translated():
                self._db.delete_item(
                    TableName=self._table,
                    Key={"pk": _s(f"ENV#{environment}"), "sk": _s("LOCK")},
                    ConditionExpression="operation_id = :me",
                    ExpressionAttributeValues={":me": _s(op_id)},
                )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    def get_lock(self, environment: str) -> Lock | None:
        with translated():
            item = self._db.get_item(
                TableName=self._table, Key={"pk": _s(f"ENV#{environment}"), "sk": _s("LOCK")}, ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        return Lock(
            environment=environment,
            operation_id=item["operation_id"]["S"],
            expires_at=float(item["expires_at"]["N"]),
        )

    # idempotency --------------------------------------------------------------------------------------------
    def remember_request(self, key: str, fingerprint: str, op_id: str, now: float) -> tuple[str, str] | None:
        try:
            with translated():
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": _s(f"IDEM#{key}"),
                        "sk": _s("IDEM"),
                        "fingerprint": _s(fingerprint),
                        "operation_id": _s(op_id),
                        "ttl": {"N": str(int(now + IDEMPOTENCY_TTL_SECONDS))},
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ClientError as exc:
            if not conditional_check_failed(exc):
                raise
            with translated():
                item = self._db.get_item(
                    TableName=self._table, Key={"pk": _s(f"IDEM#{key}"), "sk": _s("IDEM")}, ConsistentRead=True
                )["Item"]
            return item["fingerprint"]["S"], item["operation_id"]["S"]
        return None

    # pushes -------------------------------------------------------------------------------------------------
    def get_push(self, environment: str) -> PushRecord | None:
        with translated():
            item = self._db.get_item(
                TableName=self._table, Key={"pk": _s(f"ENV#{environment}"), "sk": _s("PUSH")}, ConsistentRead=True
            ).get("Item")
        return PushRecord.from_dict(json.loads(item["doc"]["S"])) if item else None

    def record_push(self, record: PushRecord) -> bool:
        try:
            with translated():
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": _s(f"ENV#{record.environment}"),
                        "sk": _s("PUSH"),
                        "digest": _s(record.digest),
                        "pushed_at": _n(record.pushed_at),
                        "doc": _s(json.dumps(record.to_dict(), sort_keys=True)),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR (pushed_at <= :t AND digest <> :d)",
                    ExpressionAttributeValues={":t": _n(record.pushed_at), ":d": _s(record.digest)},
                )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    def set_push_state(self, environment: str, digest: str, state: str, note: str = "") -> bool:
        stored = self.get_push(environment)
        if stored is None or stored.digest != digest:
            return False
        doc = {**stored.to_dict(), "state": state, "note": note}
        try:
            with translated():
                self._db.update_item(
                    TableName=self._table,
                    Key={"pk": _s(f"ENV#{environment}"), "sk": _s("PUSH")},
                    UpdateExpression="SET #doc = :doc",
                    ConditionExpression="digest = :d",
                    ExpressionAttributeNames={"#doc": "doc"},
                    ExpressionAttributeValues={":doc": _s(json.dumps(doc, sort_keys=True)), ":d": _s(digest)},
                )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    # keep-alives and snapshots ------------------------------------------------------------------------------
    def set_keep_alive(self, environment: str, until: float) -> None:
        with translated():
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"ENV#{environment}"),
                    "sk": _s("KEEPALIVE"),
                    "gsi1pk": _s("KEEPALIVES"),
                    "gsi1sk": _s(environment),
                    "until": _n(until),
                },
            )

    def clear_keep_alive(self, environment: str) -> bool:
        with translated():
            old = self._db.delete_item(
                TableName=self._table,
                Key={"pk": _s(f"ENV#{environment}"), "sk": _s("KEEPALIVE")},
                ReturnValues="ALL_OLD",
            )
        return bool(old.get("Attributes"))

    def keep_alives(self) -> dict[str, float]:
        with translated():
            page = self._db.query(
                TableName=self._table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :p",
                ExpressionAttributeValues={":p": _s("KEEPALIVES")},
            )
        return {i["gsi1sk"]["S"]: float(i["until"]["N"]) for i in page.get("Items", [])}

    def put_snapshot(self, snapshot: Snapshot) -> None:
        with translated():
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"ENV#{snapshot.environment}"),
                    "sk": _s("SNAPSHOT"),
                    "operation_id": _s(snapshot.operation_id),
                    "doc": _s(json.dumps(snapshot.to_dict(), sort_keys=True)),
                },
            )

    def get_snapshot(self, environment: str) -> Snapshot | None:
        with translated():
            item = self._db.get_item(
                TableName=self._table, Key={"pk": _s(f"ENV#{environment}"), "sk": _s("SNAPSHOT")}, ConsistentRead=True
            ).get("Item")
        return Snapshot.from_dict(json.loads(item["doc"]["S"])) if item else None

    def set_snapshot_state(self, environment: str, operation_id: str, state: str) -> bool:
        stored = self.get_snapshot(environment)
        if stored is None or stored.operation_id != operation_id:
            return False
        doc = {**stored.to_dict(), "state": state}
        try:
            with translated():
                self._db.update_item(
                    TableName=self._table,
                    Key={"pk": _s(f"ENV#{environment}"), "sk": _s("SNAPSHOT")},
                    UpdateExpression="SET #doc = :doc",
                    ConditionExpression="operation_id = :op",
                    ExpressionAttributeNames={"#doc": "doc"},
                    ExpressionAttributeValues={":doc": _s(json.dumps(doc, sort_keys=True)), ":op": _s(operation_id)},
                )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    # task tokens ----------------------------------------------------------------------------------------------
    def _wait_update(self, key: str, expr: str, values: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
        with translated():
            item = self._db.update_item(
                TableName=self._table,
                Key={"pk": _s(f"WAIT#{key}"), "sk": _s("WAIT")},
                UpdateExpression=expr,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        out: dict[str, Any] = {k: item[k]["S"] for k in ("token", "operation_id", "step") if k in item}
        if "outcome" in item:
            out["outcome"] = json.loads(item["outcome"]["S"])
        return out

    def register_wait(self, key: str, token: str, operation_id: str, step: str, now: float) -> dict[str, Any]:
        return self._wait_update(
            key,
            "SET #t = :t, #o = :o, #s = :s, #ttl = :ttl",
            {":t": _s(token), ":o": _s(operation_id), ":s": _s(step), ":ttl": {"N": str(int(now + WAIT_TTL_SECONDS))}},
            {"#t": "token", "#o": "operation_id", "#s": "step", "#ttl": "ttl"},
        )

    def record_wait_outcome(self, key: str, outcome: dict[str, Any], now: float) -> dict[str, Any]:
        return self._wait_update(
            key,
            "SET #x = :x, #ttl = :ttl",
            {":x": _s(json.dumps(outcome, sort_keys=True)), ":ttl": {"N": str(int(now + WAIT_TTL_SECONDS))}},
            {"#x": "outcome", "#ttl": "ttl"},
        )


def create_registry_table(client: Any, table: str) -> None:
    """Used by the sandbox and tests; in AWS the control plane's Terraform stack creates the table."""
    client.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
