"""The registry in one DynamoDB table (keys pk/sk, GSI gsi1 on gsi1pk/gsi1sk).

| item        | pk          | sk       | gsi1pk        | gsi1sk               |
|-------------|-------------|----------|---------------|----------------------|
| environment | ENV#<name>  | ENV      | ENVS          | <name>               |
| operation   | OP#<id>     | OP       | ENVOPS#<name> | <created, ISO>#<id>  |
| snapshot    | ENV#<name>  | SNAPSHOT |               |                      |
| idempotency | IDEM#<key>  | IDEM     |               |                      |
| task token  | WAIT#<key>  | WAIT     |               |                      |

An environment item holds the user's settings, the lock, the status, what ECS runs (``service``), what the
control plane deployed (``intended``), the keep-alive and the newest push, each as its own attribute. Every
writer updates only its own attributes, every write adds 1 to ``version``, and a settings PUT is conditional on
the version it read: nothing overwrites another writer's fields. An operation's start (create it, take the lock,
keep its Idempotency-Key) and its end (its final record, the settled environment, the lock's release) are each
one transaction. Step records live in a map attribute, so a step is one small update.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from controlplane.aws.clients import ClientError, conditional_check_failed, error_code, translated
from controlplane.domain.model import (
    CancelRequest,
    Environment,
    EnvSettings,
    EnvStatus,
    Intended,
    Lock,
    Operation,
    OpKind,
    OpStatus,
    PushRecord,
    ServiceState,
    StepRecord,
    Tier,
)
from controlplane.domain.schedule import Snapshot
from controlplane.domain.times import iso
from controlplane.errors import Cancelled, TransientError
from controlplane.ports import (
    Begin,
    End,
    Ended,
    EnvironmentMissing,
    IdempotencyReplay,
    LockHeld,
    OperationEnded,
    OperationExists,
    Page,
    StatusRefused,
    VersionConflict,
)
from controlplane.store import cursor

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
WAIT_TTL_SECONDS = 3 * 24 * 3600
RUNNING = OpStatus.RUNNING.value


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(float(value))}


def _j(value: Any) -> dict[str, str]:
    return {"S": json.dumps(value, sort_keys=True, default=str)}


def _env_key(name: str) -> dict[str, Any]:
    return {"pk": _s(f"ENV#{name}"), "sk": _s("ENV")}


def _op_key(op_id: str) -> dict[str, Any]:
    return {"pk": _s(f"OP#{op_id}"), "sk": _s("OP")}


def _load(item: dict[str, Any], name: str) -> Any:
    return json.loads(item[name]["S"]) if name in item else None


def _env_from_item(item: dict[str, Any]) -> Environment:
    lock = None
    if "lock_op" in item:
        lock = Lock(item["lock_op"]["S"], OpKind(item["lock_kind"]["S"]), float(item["lock_expires"]["N"]))
    push = None
    if "push" in item:
        doc = _load(item, "push")
        doc["state"] = "pending" if "push_pending" in item else item.get("push_state", {}).get("S", "started")
        doc["note"] = item.get("push_note", {}).get("S", "")
        push = PushRecord.from_dict(doc)
    service, intended = _load(item, "service"), _load(item, "intended")
    return Environment(
        name=item["name"]["S"],
        tier=Tier(item["tier"]["S"]),
        tier_source=item.get("tier_source", {}).get("S", "request"),
        status=EnvStatus(item["status"]["S"]),
        settings=EnvSettings.from_dict(_load(item, "settings") or {}),
        version=int(item.get("version", {}).get("N", "0")),
        lock=lock,
        last_operation_id=item.get("last_op", {}).get("S"),
        service=ServiceState.from_dict(service) if service else None,
        intended=Intended.from_dict(intended) if intended else None,
        url=item.get("url", {}).get("S"),
        keep_alive_until=float(item["keep_alive"]["N"]) if "keep_alive" in item else None,
        push=push,
        updated_at=float(item.get("updated_at", {}).get("N", "0")),
    )


def _op_from_item(item: dict[str, Any]) -> Operation:
    doc = _load(item, "doc")
    doc["status"] = item["status"]["S"]
    retries = {name: int(v["N"]) for name, v in item.get("retries", {}).get("M", {}).items()}
    doc["steps"] = [
        {**step, "attempts": 1 + retries.get(step["name"], 0)}
        for step in (json.loads(v["S"]) for v in item.get("steps", {}).get("M", {}).values())
    ]
    for name in ("ended_at", "error", "result", "cancel"):
        if name in item:
            doc[name] = _load(item, name)
    op = Operation.from_dict(doc)
    return op.replace(wait_key=item["wait_key"]["S"]) if "wait_key" in item else op


def _reasons(exc: ClientError) -> list[dict[str, Any]]:
    reasons: Any = exc.response.get("CancellationReasons") or []
    return [dict(r) for r in reasons]


def _failed(reason: dict[str, Any]) -> bool:
    return reason.get("Code") == "ConditionalCheckFailed"


class DynamoRegistry:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    @contextmanager
    def _call(self) -> Iterator[None]:
        with translated():
            yield

    def _update(self, key: dict[str, Any], expr: str, condition: str | None = None, **kw: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"TableName": self._table, "Key": key, "UpdateExpression": expr, **kw}
        if condition:
            args["ConditionExpression"] = condition
        with self._call():
            return dict(self._db.update_item(**args))

    def _transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Run a transaction; None on success, the cancellation reasons when a condition failed."""
        for item in items:
            next(iter(item.values()))["TableName"] = self._table
        try:
            with self._call():
                self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = _reasons(exc)
            if any(r.get("Code") in ("TransactionConflict", "ThrottlingError") for r in reasons):
                raise TransientError(f"registry transaction conflicted: {exc}") from exc
            return reasons
        return None

    # environments -----------------------------------------------------------------------------------------
    def get_environment(self, name: str) -> Environment | None:
        with self._call():
            item = self._db.get_item(TableName=self._table, Key=_env_key(name), ConsistentRead=True).get("Item")
        return _env_from_item(item) if item else None

    def list_environments(self, limit: int, cursor_: str | None = None) -> Page[Environment]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": _s("ENVS")},
            "Limit": limit,
        }
        if cursor_:
            kwargs["ExclusiveStartKey"] = cursor.start_key(cursor_, "envs", "ENVS")
        with self._call():
            page = self._db.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        return Page(
            [_env_from_item(i) for i in page.get("Items", [])],
            cursor.encode({"scope": "envs", "key": last}) if last else None,
        )

    def create_environment(self, env: Environment) -> bool:
        item: dict[str, Any] = {
            **_env_key(env.name),
            "gsi1pk": _s("ENVS"),
            "gsi1sk": _s(env.name),
            "name": _s(env.name),
            "tier": _s(env.tier.value),
            "tier_source": _s(env.tier_source),
            "status": _s(env.status.value),
            "settings": _j(env.settings.to_dict()),
            "version": {"N": "1"},
            "updated_at": _n(env.updated_at),
        }
        try:
            with self._call():
                self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    def update_settings(
        self, name: str, tier: Tier, tier_source: str, settings: EnvSettings, expected_version: int, now: float
    ) -> Environment:
        try:
            out = self._update(
                _env_key(name),
                "SET tier = :t, tier_source = :ts, settings = :s, updated_at = :now ADD version :one",
                "attribute_exists(pk) AND version = :v",
                ExpressionAttributeValues={
                    ":t": _s(tier.value),
                    ":ts": _s(tier_source),
                    ":s": _j(settings.to_dict()),
                    ":now": _n(now),
                    ":one": {"N": "1"},
                    ":v": {"N": str(expected_version)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not conditional_check_failed(exc):
                raise
            self._must_exist(name)
            raise VersionConflict(name) from None
        return _env_from_item(out["Attributes"])

    def record_service(
        self, name: str, service: ServiceState, url: str | None, now: float, expected_version: int
    ) -> bool:
        expr = "SET service = :svc, updated_at = :now" + (", #url = :url" if url else "") + " ADD version :one"
        values: dict[str, Any] = {
            ":svc": _j(service.to_dict()),
            ":now": _n(now),
            ":one": {"N": "1"},
            ":v": {"N": str(expected_version)},
        }
        names: dict[str, str] = {}
        if url:
            values[":url"], names["#url"] = _s(url), "url"
        try:
            self._update(
                _env_key(name),
                expr,
                "attribute_exists(pk) AND attribute_not_exists(lock_op) AND version = :v",
                ExpressionAttributeValues=values,
                **({"ExpressionAttributeNames": names} if names else {}),
            )
        except ClientError as exc:
            if not conditional_check_failed(exc):
                raise
            return False
        return True

    def set_keep_alive(self, name: str, until: float | None, now: float) -> bool:
        try:
            if until is None:
                self._update(
                    _env_key(name),
                    "REMOVE keep_alive SET updated_at = :now ADD version :one",
                    "attribute_exists(keep_alive)",
                    ExpressionAttributeValues={":now": _n(now), ":one": {"N": "1"}},
                )
            else:
                self._update(
                    _env_key(name),
                    "SET keep_alive = :u, updated_at = :now ADD version :one",
                    "attribute_exists(pk)",
                    ExpressionAttributeValues={":u": _n(until), ":now": _n(now), ":one": {"N": "1"}},
                )
        except ClientError as exc:
            if not conditional_check_failed(exc):
                raise
            self._must_exist(name)
            return False
        return True

    def offer_push(self, name: str, record: PushRecord) -> bool:
        doc = {k: v for k, v in record.to_dict().items() if k not in ("state", "note")}
        values: dict[str, Any] = {
            ":p": _j(doc),
            ":d": _s(record.digest),
            ":t": _n(record.pushed_at),
            ":note": _s(record.note),
            ":one": {"N": "1"},
        }
        expr = "SET push = :p, push_digest = :d, push_at = :t, push_note = :note"
        if record.state == "pending":
            expr += ", push_pending = :y ADD version :one"
            values[":y"] = {"BOOL": True}
        else:
            expr += ", push_state = :st ADD version :one REMOVE push_pending"
            values[":st"] = _s(record.state)
        try:
            self._update(
                _env_key(name),
                expr,
                "attribute_exists(pk) AND (attribute_not_exists(push_digest) OR (push_at <= :t AND push_digest <> :d))",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not conditional_check_failed(exc):
                raise
            self._must_exist(name)
            return False
        return True

    def _must_exist(self, name: str) -> None:
        """After a failed condition: EnvironmentMissing if the environment is not there at all."""
        if self.get_environment(name) is None:
            raise EnvironmentMissing(name) from None

    def set_push_state(self, name: str, digest: str, state: str, note: str = "") -> bool:
        if state == "pending":
            expr = "SET push_pending = :y, push_note = :note ADD version :one"
            values: dict[str, Any] = {":y": {"BOOL": True}}
        else:
            expr = "SET push_state = :st, push_note = :note ADD version :one REMOVE push_pending"
            values = {":st": _s(state)}
        try:
            self._update(
                _env_key(name),
                expr,
                "push_digest = :d",
                ExpressionAttributeValues={**values, ":d": _s(digest), ":note": _s(note), ":one": {"N": "1"}},
            )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True

    # operations -------------------------------------------------------------------------------------------
    def get_operation(self, op_id: str) -> Operation | None:
        with self._call():
            item = self._db.get_item(TableName=self._table, Key=_op_key(op_id), ConsistentRead=True).get("Item")
        return _op_from_item(item) if item else None

    def list_operations(
        self,
        environment: str,
        limit: int,
        cursor_: str | None = None,
        statuses: Sequence[OpStatus] = (),
        kinds: Sequence[OpKind] = (),
    ) -> Page[Operation]:
        scope = f"ops:{environment}"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": _s(f"ENVOPS#{environment}")},
            "ScanIndexForward": False,
        }
        filters: list[str] = []
        names: dict[str, str] = {}
        for attr, values, prefix in (("status", statuses, ":st"), ("kind", kinds, ":k")):
            if values:
                names[f"#{attr}"] = attr
                keys = [f"{prefix}{i}" for i in range(len(values))]
                filters.append(f"#{attr} IN ({', '.join(keys)})")
                kwargs["ExpressionAttributeValues"].update({k: _s(v.value) for k, v in zip(keys, values, strict=True)})
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
            kwargs["ExpressionAttributeNames"] = names
        start = cursor.start_key(cursor_, scope, f"ENVOPS#{environment}") if cursor_ else None
        items: list[Operation] = []
        last: dict[str, Any] | None = None
        while len(items) < limit:
            if start:
                kwargs["ExclusiveStartKey"] = start
            kwargs["Limit"] = limit - len(items)
            with self._call():
                page = self._db.query(**kwargs)
            items += [_op_from_item(i) for i in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            if not last:
                break
            start = last
        return Page(items, cursor.encode({"scope": scope, "key": last}) if last else None)

    def record_steps(self, op_id: str, records: Sequence[StepRecord]) -> CancelRequest | None:
        sets = ", ".join(f"steps.#n{i} = :r{i}" for i in range(len(records)))
        try:
            out = self._update(
                _op_key(op_id),
                f"SET {sets}",
                "#st = :running",
                ExpressionAttributeNames={"#st": "status", **{f"#n{i}": r.name for i, r in enumerate(records)}},
                ExpressionAttributeValues={
                    ":running": _s(RUNNING),
                    **{f":r{i}": _j(r.to_dict()) for i, r in enumerate(records)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if conditional_check_failed(exc):
                raise OperationEnded(op_id) from None
            raise
        cancel = _load(out["Attributes"], "cancel")
        return CancelRequest.from_dict(cancel) if cancel else None

    def record_retry(self, op_id: str, record: StepRecord) -> None:
        try:
            self._update(
                _op_key(op_id),
                "SET steps.#n = :rec ADD retries.#n :one",
                "#st = :running",
                ExpressionAttributeNames={"#st": "status", "#n": record.name},
                ExpressionAttributeValues={":rec": _j(record.to_dict()), ":one": {"N": "1"}, ":running": _s(RUNNING)},
            )
        except ClientError as exc:
            if conditional_check_failed(exc):
                raise OperationEnded(op_id) from None
            raise

    def request_cancel(self, op_id: str, request: CancelRequest) -> Operation:
        try:
            out = self._update(
                _op_key(op_id),
                "SET cancel = if_not_exists(cancel, :c)",
                "#st = :running",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":c": _j(request.to_dict()), ":running": _s(RUNNING)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if conditional_check_failed(exc):
                raise OperationEnded(op_id) from None
            raise
        return _op_from_item(out["Attributes"])

    # the ledger -------------------------------------------------------------------------------------------
    def begin(self, begin: Begin) -> None:
        op = begin.operation
        keep = ("id", "kind", "environment", "trigger", "params", "environment_status_before")
        doc = {k: v for k, v in op.to_dict().items() if k in keep}
        doc |= {"created_at": iso(op.created_at), "execution_arn": op.execution_arn}
        steps = {s.name: _j(s.to_dict()) for s in op.steps}
        put_op = {
            "Put": {
                "Item": {
                    **_op_key(op.id),
                    "gsi1pk": _s(f"ENVOPS#{op.environment}"),
                    "gsi1sk": _s(f"{iso(op.created_at)}#{op.id}"),
                    "status": _s(op.status.value),
                    "kind": _s(op.kind.value),
                    "doc": _j(doc),
                    "steps": {"M": steps},
                    "retries": {"M": {}},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        allowed = sorted(s.value for s in begin.starts_from)
        status_set = ", #st = :transitional" if begin.transitional else ""
        values: dict[str, Any] = {
            ":op": _s(op.id),
            ":kind": _s(op.kind.value),
            ":exp": _n(begin.lock_expires_at),
            ":now": _n(op.created_at),
            ":one": {"N": "1"},
            **{f":a{i}": _s(s) for i, s in enumerate(allowed)},
        }
        if begin.transitional:
            values[":transitional"] = _s(begin.transitional.value)
        version_check = ""
        if begin.expected_version is not None:
            version_check = " AND version = :v"
            values[":v"] = {"N": str(begin.expected_version)}
        lock_env = {
            "Update": {
                "Key": _env_key(op.environment),
                "UpdateExpression": (
                    f"SET lock_op = :op, lock_kind = :kind, lock_expires = :exp, last_op = :op{status_set}, "
                    "updated_at = :now ADD version :one"
                ),
                "ConditionExpression": (
                    "attribute_exists(pk) AND attribute_not_exists(lock_op) AND "
                    f"#st IN ({', '.join(f':a{i}' for i in range(len(allowed)))}){version_check}"
                ),
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        items = [put_op, lock_env]
        if begin.idempotency is not None:
            key, fingerprint = begin.idempotency
            items.append(
                {
                    "Put": {
                        "Item": {
                            "pk": _s(f"IDEM#{key}"),
                            "sk": _s("IDEM"),
                            "fingerprint": _s(fingerprint),
                            "operation_id": _s(op.id),
                            "ttl": {"N": str(int(op.created_at + IDEMPOTENCY_TTL_SECONDS))},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        reasons = self._transact(items)
        if reasons is None:
            return
        if len(reasons) > 2 and _failed(reasons[2]):
            stored = reasons[2].get("Item") or {}
            raise IdempotencyReplay(stored["fingerprint"]["S"], stored["operation_id"]["S"])
        if _failed(reasons[0]):
            raise OperationExists(op.id)
        old = reasons[1].get("Item") if len(reasons) > 1 else None
        if not old:
            raise EnvironmentMissing(op.environment)
        env = _env_from_item(old)
        if env.lock is not None:
            raise LockHeld(env.name, env.lock)
        if env.status not in begin.starts_from:
            raise StatusRefused(env.status)
        raise VersionConflict(env.name)

    def _end_op_update(self, end: End) -> dict[str, Any]:
        sets = ["#st = :final", "ended_at = :ended", "#err = :err", "#res = :res"]
        names = {"#st": "status", "#err": "error", "#res": "result"}
        values: dict[str, Any] = {
            ":final": _s(end.status.value),
            ":ended": _j(iso(end.ended_at)),
            ":err": _j(end.error),
            ":res": _j(end.result),
            ":running": _s(RUNNING),
        }
        for i, rec in enumerate(end.steps):
            sets.append(f"steps.#n{i} = :r{i}")
            names[f"#n{i}"], values[f":r{i}"] = rec.name, _j(rec.to_dict())
        return {
            "Update": {
                "Key": _op_key(end.operation_id),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": "#st = :running"
                + (" AND attribute_not_exists(cancel)" if end.unless_cancelled else ""),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _end_env_update(self, end: End, pending_free: bool) -> dict[str, Any]:
        sets = ["updated_at = :now"]
        removes = ["lock_op", "lock_kind", "lock_expires"]
        names: dict[str, str] = {}
        values: dict[str, Any] = {":now": _n(end.ended_at), ":me": _s(end.operation_id), ":one": {"N": "1"}}
        if end.env_status is not None:
            sets.append("#st = :envst")
            names["#st"], values[":envst"] = "status", _s(end.env_status.value)
        if end.service is not None:
            sets.append("service = :svc")
            values[":svc"] = _j(end.service.to_dict())
        if end.intended is not None:
            sets.append("intended = :want")
            values[":want"] = _j(end.intended.to_dict())
        elif end.clear_intended:
            removes.append("intended")
        if end.url is not None:
            sets.append("#url = :url")
            names["#url"], values[":url"] = "url", _s(end.url)
        condition = "lock_op = :me" + (" AND attribute_not_exists(push_pending)" if pending_free else "")
        update: dict[str, Any] = {
            "Key": _env_key(end.environment),
            "UpdateExpression": f"SET {', '.join(sets)} REMOVE {', '.join(removes)} ADD version :one",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    def end(self, end: End) -> Ended:
        reasons = self._transact([self._end_op_update(end), self._end_env_update(end, pending_free=True)])
        if reasons is None:
            return Ended(ended=True, lock_released=True)
        if _failed(reasons[0]):
            old_op = reasons[0].get("Item") or {}
            running = old_op.get("status", {}).get("S") == RUNNING
            return Ended(ended=False, lock_released=False, cancelled=running and "cancel" in old_op)
        old = reasons[1].get("Item") or {}
        if old.get("lock_op", {}).get("S") == end.operation_id:  # ours, with a pending push waiting
            again = self._transact([self._end_op_update(end), self._end_env_update(end, pending_free=False)])
            if again is not None:
                return Ended(ended=not _failed(again[0]), lock_released=False)
            return Ended(ended=True, lock_released=True, pending_push=_env_from_item(old).push)
        try:  # the lock is not this operation's: record the operation's end only
            update = self._end_op_update(end)["Update"]
            self._update(
                update["Key"],
                update["UpdateExpression"],
                update["ConditionExpression"],
                ExpressionAttributeNames=update["ExpressionAttributeNames"],
                ExpressionAttributeValues=update["ExpressionAttributeValues"],
            )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return Ended(ended=False, lock_released=False)
            raise
        return Ended(ended=True, lock_released=False)

    # task tokens ----------------------------------------------------------------------------------------------
    def _wait_update(self, key: str, expr: str, values: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
        out = self._update(
            {"pk": _s(f"WAIT#{key}"), "sk": _s("WAIT")},
            expr,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return _wait_doc(out["Attributes"])

    def register_wait(
        self,
        key: str,
        token: str,
        records: Sequence[StepRecord],
        operation_id: str,
        carry: dict[str, Any],
        cancellable: bool = True,
    ) -> dict[str, Any]:
        record = records[-1]
        ttl = {"N": str(int(record.started_at + WAIT_TTL_SECONDS))}
        wait: dict[str, Any] = {
            "Update": {
                "Key": {"pk": _s(f"WAIT#{key}"), "sk": _s("WAIT")},
                "UpdateExpression": "SET #t = :t, #o = :o, #s = :s, #c = :c, #ttl = :ttl",
                "ConditionExpression": "attribute_not_exists(outcome)",
                "ExpressionAttributeNames": {
                    "#t": "token",
                    "#o": "operation_id",
                    "#s": "step",
                    "#c": "carry",
                    "#ttl": "ttl",
                },
                "ExpressionAttributeValues": {
                    ":t": _s(token),
                    ":o": _s(operation_id),
                    ":s": _s(record.name),
                    ":c": _j(carry),
                    ":ttl": ttl,
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        sets = ", ".join(f"steps.#n{i} = :r{i}" for i in range(len(records)))
        step: dict[str, Any] = {
            "Update": {
                "Key": _op_key(operation_id),
                "UpdateExpression": f"SET {sets}, wait_key = :k",
                "ConditionExpression": "#st = :running" + (" AND attribute_not_exists(cancel)" if cancellable else ""),
                "ExpressionAttributeNames": {"#st": "status", **{f"#n{i}": r.name for i, r in enumerate(records)}},
                "ExpressionAttributeValues": {
                    ":k": _s(key),
                    ":running": _s(RUNNING),
                    **{f":r{i}": _j(r.to_dict()) for i, r in enumerate(records)},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        reasons = self._transact([wait, step])
        if reasons is None:
            return {"token": token, "operation_id": operation_id, "step": record.name, "carry": carry}
        old_op = reasons[1].get("Item") if _failed(reasons[1]) else None
        if old_op is not None and old_op.get("status", {}).get("S") != RUNNING:
            raise OperationEnded(operation_id)
        # an event came first (the outcome is stored) and/or a cancel was requested: write both halves plainly
        upd = step["Update"]
        try:
            self._update(
                upd["Key"],
                upd["UpdateExpression"],
                "#st = :running",
                ExpressionAttributeNames=upd["ExpressionAttributeNames"],
                ExpressionAttributeValues=upd["ExpressionAttributeValues"],
            )
        except ClientError as exc:
            if conditional_check_failed(exc):
                raise OperationEnded(operation_id) from None
            raise
        w = wait["Update"]
        item = self._wait_update(
            key, w["UpdateExpression"], w["ExpressionAttributeValues"], w["ExpressionAttributeNames"]
        )
        if cancellable and old_op is not None and "cancel" in old_op:
            raise Cancelled(f"operation {operation_id} was cancelled")
        return item

    def record_wait_outcome(self, key: str, outcome: dict[str, Any], now: float) -> dict[str, Any]:
        return self._wait_update(
            key,
            "SET #x = :x, #ttl = :ttl",
            {":x": _j(outcome), ":ttl": {"N": str(int(now + WAIT_TTL_SECONDS))}},
            {"#x": "outcome", "#ttl": "ttl"},
        )

    def get_wait(self, key: str) -> dict[str, Any] | None:
        with self._call():
            item = self._db.get_item(
                TableName=self._table, Key={"pk": _s(f"WAIT#{key}"), "sk": _s("WAIT")}, ConsistentRead=True
            ).get("Item")
        return _wait_doc(item) if item else None

    # snapshots ----------------------------------------------------------------------------------------------
    def put_snapshot(self, snapshot: Snapshot) -> None:
        with self._call():
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"ENV#{snapshot.environment}"),
                    "sk": _s("SNAPSHOT"),
                    "operation_id": _s(snapshot.operation_id),
                    "doc": _j(snapshot.to_dict()),
                },
            )

    def get_snapshot(self, environment: str) -> Snapshot | None:
        with self._call():
            item = self._db.get_item(
                TableName=self._table, Key={"pk": _s(f"ENV#{environment}"), "sk": _s("SNAPSHOT")}, ConsistentRead=True
            ).get("Item")
        return Snapshot.from_dict(_load(item, "doc")) if item else None

    def set_snapshot_state(self, environment: str, operation_id: str, state: str) -> bool:
        stored = self.get_snapshot(environment)
        if stored is None or stored.operation_id != operation_id:
            return False
        doc = {**stored.to_dict(), "state": state}
        try:
            self._update(
                {"pk": _s(f"ENV#{environment}"), "sk": _s("SNAPSHOT")},
                "SET #doc = :doc",
                "operation_id = :op",
                ExpressionAttributeNames={"#doc": "doc"},
                ExpressionAttributeValues={":doc": _j(doc), ":op": _s(operation_id)},
            )
        except ClientError as exc:
            if conditional_check_failed(exc):
                return False
            raise
        return True


def _wait_doc(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: item[k]["S"] for k in ("token", "operation_id", "step") if k in item}
    for name in ("outcome", "carry"):
        if name in item:
            out[name] = json.loads(item[name]["S"])
    return out


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
