"""The Lambda role's one policy, evaluated against every AWS call the control plane makes.

- ``render_policy``: the policy Terraform attaches to the functions' role, rendered from the same file
  (``terraform/modules/controlplane/lambda-policy.json.tftpl``) the way Terraform's ``templatefile`` renders it
  (the subset of the template language that file uses; a test compares both renderings).
- ``evaluate``: IAM's decision for one request: Allow/Deny statements with Action/NotAction, Resource/NotResource
  (wildcards ``*`` and ``?``), the Condition operators the policies here use (String*, Arn*, Bool, with
  ``ForAnyValue:``/``ForAllValues:`` and ``...IfExists``); an explicit Deny wins; nothing allowed is an implicit
  deny. Anything else is refused (ValueError), so a policy is never judged by rules the evaluator does not know.
- ``CallRecorder``: a boto3 hook on the control plane's clients that names every call's IAM action(s) and
  resource ARN(s), plus the permissions AWS checks implicitly on the caller's behalf (``iam:PassRole`` of the task
  roles, the CloudWatch alarms of target tracking, service-linked roles, tag-on-create, KMS through a service), and
  can enforce the policy: a denied call fails with AccessDeniedException before it is sent, as AWS would refuse it.

moto 5.2.5's own IAM enforcement cannot stand in for this: it authorizes every request but S3's, SQS's and IAM's
against the resource ``*`` and turns an Allow whose Condition does not hold into an explicit Deny, so a scoped
policy denies what AWS allows (tests/integration/test_lambda_policy.py keeps a canary). Sandbox and tests only.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
POLICY_TEMPLATE = ROOT / "terraform" / "modules" / "controlplane" / "lambda-policy.json.tftpl"
ALLOW, DENY, IMPLICIT = "Allow", "Deny", "implicit deny"

# ---------------------------------------------------------------------------------------------------------------
# The template: Terraform's template language, the subset lambda-policy.json.tftpl uses
# ---------------------------------------------------------------------------------------------------------------


class TemplateError(ValueError):
    pass


class _Expr:
    """A recursive-descent reader of the expressions inside ``${...}``: names, string templates, list literals,
    ``[for x in list : expr]``, ``jsonencode(...)`` and ``flatten(...)``."""

    def __init__(self, text: str, pos: int, variables: Mapping[str, Any]) -> None:
        self.text, self.pos, self.vars = text, pos, variables

    def _ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _expect(self, token: str) -> None:
        self._ws()
        if not self.text.startswith(token, self.pos):
            raise TemplateError(f"expected {token!r} at {self.pos}: {self.text[self.pos : self.pos + 40]!r}")
        self.pos += len(token)

    def _name(self) -> str:
        self._ws()
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.pos)
        if not m:
            raise TemplateError(f"expected a name at {self.pos}: {self.text[self.pos : self.pos + 40]!r}")
        self.pos = m.end()
        return m.group(0)

    def value(self) -> Any:
        self._ws()
        c = self.text[self.pos]
        if c == '"':
            return self._string()
        if c == "[":
            return self._list()
        name = self._name()
        self._ws()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.pos += 1
            arg = self.value()
            self._expect(")")
            if name == "jsonencode":
                return json.dumps(arg, separators=(",", ":"))
            if name == "flatten":
                return [y for x in arg for y in (x if isinstance(x, list) else [x])]
            raise TemplateError(f"function {name}() is not supported")
        if name not in self.vars:
            raise TemplateError(f"variable {name!r} is not given")
        return self.vars[name]

    def _string(self) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            c = self.text[self.pos]
            if c == '"':
                self.pos += 1
                return "".join(out)
            if self.text.startswith("${", self.pos):
                self.pos += 2
                out.append(_as_text(self.value()))
                self._expect("}")
                continue
            if c == "\\":
                raise TemplateError("escapes in template strings are not supported")
            out.append(c)
            self.pos += 1

    def _list(self) -> list[Any]:
        self.pos += 1
        self._ws()
        if self.text.startswith("for ", self.pos):
            self.pos += 4
            var = self._name()
            self._expect("in")
            items = self.value()
            self._expect(":")
            start, out = self.pos, []
            for item in items:
                self.pos = start
                out.append(_Expr(self.text, start, {**self.vars, var: item}).value_at(self))
            self._expect("]")
            return out
        out = []
        while True:
            self._ws()
            if self.text[self.pos] == "]":
                self.pos += 1
                return out
            out.append(self.value())
            self._ws()
            if self.text[self.pos] == ",":
                self.pos += 1

    def value_at(self, outer: _Expr) -> Any:
        """Evaluate here, then move ``outer`` to where this expression ended."""
        result = self.value()
        outer.pos = self.pos
        return result


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"a list cannot be interpolated into a string: {value!r}")
    return value


def render_template(text: str, variables: Mapping[str, Any]) -> str:
    """Render ``text`` as Terraform's templatefile() does, for the subset above (no ``%{}`` directives)."""
    if "%{" in text:
        raise TemplateError("template directives (%{ }) are not supported")
    out, pos = [], 0
    while True:
        start = text.find("${", pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        if start > 0 and text[start - 1] == "$":  # $${ is a literal ${
            out.append(text[pos : start - 1] + "${")
            pos = start + 2
            continue
        out.append(text[pos:start])
        expr = _Expr(text, start + 2, variables)
        out.append(_as_text(expr.value()))
        expr._expect("}")
        pos = expr.pos


@dataclass(frozen=True)
class PolicyInputs:
    """What Terraform passes to the template (modules/controlplane, aws_iam_role_policy.lambda)."""

    stage: str
    environments: tuple[str, ...]
    account_id: str = "123456789012"
    region: str = "eu-central-1"
    partition: str = "aws"
    kms_key_arn: str = ""

    @property
    def key_arn(self) -> str:
        return self.kms_key_arn or (
            f"arn:{self.partition}:kms:{self.region}:{self.account_id}:key/00000000-0000-0000-0000-controlplane"
        )

    def variables(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "environments": list(self.environments),
            "account_id": self.account_id,
            "region": self.region,
            "partition": self.partition,
            "kms_key_arn": self.key_arn,
        }


def render_policy(inputs: PolicyInputs, template: Path = POLICY_TEMPLATE) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(render_template(template.read_text(), inputs.variables()))
    return policy


# ---------------------------------------------------------------------------------------------------------------
# The evaluator
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: an action on a resource, with the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    implicit: str = ""  # why AWS checks it although the caller did not call it (empty: the call itself)

    def __str__(self) -> str:
        extra = f" {dict(self.context)}" if self.context else ""
        why = f" (implicit: {self.implicit})" if self.implicit else ""
        return f"{self.action} on {self.resource}{extra}{why}"


def _wildcard(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda want, got: want == got,
    "StringNotEquals": lambda want, got: want != got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: bool(_wildcard(want, True).match(got)),
    "StringNotLike": lambda want, got: not _wildcard(want, True).match(got),
    "ArnEquals": lambda want, got: want == got,
    "ArnLike": lambda want, got: bool(_wildcard(want, True).match(got)),
    "ArnNotEquals": lambda want, got: want != got,
    "ArnNotLike": lambda want, got: not _wildcard(want, True).match(got),
    "Bool": lambda want, got: want.lower() == got.lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, tuple[str, ...]]) -> bool:
    lowered = {k.lower(): v for k, v in context.items()}
    for raw_operator, keys in condition.items():
        qualifier, _, operator = raw_operator.rpartition(":")
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        if operator not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
            raise ValueError(f"the evaluator does not handle the condition operator {raw_operator!r}")
        test = _OPERATORS[operator]
        for key, wanted in keys.items():
            values = lowered.get(key.lower())
            wants = _listed(wanted)
            if values is None:
                if if_exists or qualifier == "ForAllValues":
                    continue
                if operator in _NEGATED and not qualifier:
                    continue  # a negated operator matches a missing key
                return False
            if qualifier == "ForAllValues":
                ok = all(any(test(w, v) for w in wants) for v in values)
            elif operator in _NEGATED:
                ok = all(all(test(w, v) for w in wants) for v in values)
            else:
                ok = any(test(w, v) for w in wants for v in values)
            if not ok:
                return False
    return True


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy["Statement"]
    return [statements] if isinstance(statements, dict) else list(statements)


def evaluate(policy: Mapping[str, Any], request: Request | str, resource: str | None = None) -> str:
    """Allow, Deny or implicit deny. ``evaluate(policy, action, resource)`` is a request without condition keys."""
    if isinstance(request, str):
        request = Request(request, resource or "")
    allowed = False
    for statement in _statements(policy):
        unknown = set(statement) - _STATEMENT_KEYS
        if unknown:
            raise ValueError(f"the evaluator does not handle {sorted(unknown)} (statement {statement.get('Sid')})")
        if "Action" in statement:
            if not any(_wildcard(a, False).match(request.action) for a in _listed(statement["Action"])):
                continue
        elif any(_wildcard(a, False).match(request.action) for a in _listed(statement["NotAction"])):
            continue
        if "Resource" in statement:
            if not any(_wildcard(r, True).match(request.resource) for r in _listed(statement["Resource"])):
                continue
        elif any(_wildcard(r, True).match(request.resource) for r in _listed(statement["NotResource"])):
            continue
        if not _condition_holds(statement.get("Condition", {}), request.context):
            continue
        if statement["Effect"] == "Deny":
            return DENY
        allowed = allowed or statement["Effect"] == "Allow"
    return ALLOW if allowed else IMPLICIT


# ---------------------------------------------------------------------------------------------------------------
# What each call asks of IAM
# ---------------------------------------------------------------------------------------------------------------

# boto3 signing name -> IAM service prefix (where they differ)
IAM_PREFIX = {"tagging": "tag"}
# Calls that need no permission (AWS documents GetCallerIdentity as always allowed).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


class UnknownCall(LookupError):
    """The recorder does not know how AWS authorizes this call: teach ``requests_for`` (never guess)."""


@dataclass
class Naming:
    account: str
    region: str
    partition: str = "aws"
    controlplane_key_arn: str = ""
    # ARN of the KMS key of an environment's notification topic (its alias is alias/cart-service-<env>)
    environment_key: Callable[[str], str] = field(
        default=lambda env: f"arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-0000-0000-{env}"
    )

    def arn(self, service: str, rest: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{rest}"


def _name(value: str) -> str:
    """A name or an ARN's last path segment (ECS accepts either)."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def _env_of(name: str, prefix: str = "cart-service-") -> str | None:
    m = re.match(rf"{re.escape(prefix)}([a-z0-9-]+?)(?:-[a-z]+)?$", name)
    return m.group(1) if m else None


def _tag_context(tags: Any, kind: str) -> dict[str, tuple[str, ...]]:
    if isinstance(tags, Mapping):
        pairs = [(str(k), str(v)) for k, v in tags.items()]
    else:
        pairs = [(str(t.get("key", t.get("Key"))), str(t.get("value", t.get("Value")))) for t in tags or []]
    context: dict[str, tuple[str, ...]] = {f"aws:{kind}/{k}": (v,) for k, v in pairs}
    if kind == "RequestTag":
        context["aws:TagKeys"] = tuple(k for k, _ in pairs)
    return context


def requests_for(prefix: str, operation: str, params: Mapping[str, Any], n: Naming) -> list[Request]:
    """The authorizations AWS makes for one call: the call's own action on its resource(s), and the implicit ones."""
    action = f"{prefix}:{operation}"
    p = params
    star = [Request(action, "*")]
    if action in NEEDS_NO_PERMISSION:
        return []
    if prefix == "ecs":
        cluster = _name(str(p.get("cluster", "default")))
        cluster_arn = n.arn("ecs", f"cluster/{cluster}")
        scoped = {"ecs:cluster": (cluster_arn,)}
        if operation == "DescribeClusters":
            return [Request(action, n.arn("ecs", f"cluster/{_name(c)}")) for c in p.get("clusters", ["default"])]
        if operation == "DescribeServices":
            return [Request(action, n.arn("ecs", f"service/{cluster}/{_name(s)}"), scoped) for s in p["services"]]
        if operation in ("CreateService", "UpdateService", "DeleteService"):
            service = _name(str(p.get("serviceName") or p.get("service")))
            arn = n.arn("ecs", f"service/{cluster}/{service}")
            out = [Request(action, arn, scoped)]
            if operation == "CreateService":
                if p.get("tags"):
                    context = {"ecs:CreateAction": ("CreateService",), **_tag_context(p["tags"], "RequestTag")}
                    out.append(Request("ecs:TagResource", arn, context, "tags on create"))
                out.append(_service_linked_role(n, "ecs.amazonaws.com", "AWSServiceRoleForECS"))
            return out
        if operation == "ListTasks":
            return [Request(action, "*", scoped)]
        if operation == "DescribeTasks":
            return [Request(action, n.arn("ecs", f"task/{cluster}/{_name(t)}"), scoped) for t in p["tasks"]]
        if operation == "RegisterTaskDefinition":
            arn = n.arn("ecs", f"task-definition/{p['family']}:*")
            out = [Request(action, arn)]
            for key in ("executionRoleArn", "taskRoleArn"):
                if p.get(key):
                    context = {"iam:PassedToService": ("ecs-tasks.amazonaws.com",)}
                    out.append(Request("iam:PassRole", str(p[key]), context, f"{key} of the task definition"))
            if p.get("tags"):
                context = {"ecs:CreateAction": ("RegisterTaskDefinition",), **_tag_context(p["tags"], "RequestTag")}
                out.append(Request("ecs:TagResource", arn, context, "tags on create"))
            return out
        if operation in ("DescribeTaskDefinition", "ListTaskDefinitions", "DeregisterTaskDefinition"):
            return star
        if operation == "DeleteTaskDefinitions":
            return [Request(action, str(a)) for a in p["taskDefinitions"]]
    if prefix == "ecr":
        if operation == "DescribeRepositories":
            return [Request(action, n.arn("ecr", f"repository/{r}")) for r in p.get("repositoryNames", ["*"])]
        if operation in ("DescribeImages", "BatchDeleteImage", "ListImages", "BatchGetImage"):
            return [Request(action, n.arn("ecr", f"repository/{p['repositoryName']}"))]
    if prefix == "codebuild":
        if operation == "StartBuild":
            return [Request(action, n.arn("codebuild", f"project/{p['projectName']}"))]
        if operation in ("BatchGetBuilds", "StopBuild"):
            ids = p.get("ids") or [p["id"]]
            return [
                Request(action, n.arn("codebuild", f"project/{str(i).split('build/')[-1].split(':')[0]}")) for i in ids
            ]
    if prefix == "logs":
        if operation == "DescribeLogGroups":
            return star
        if operation in ("CreateLogGroup", "PutRetentionPolicy", "DeleteLogGroup"):
            arn = n.arn("logs", f"log-group:{p['logGroupName']}")
            out = [Request(action, arn)]
            if operation == "CreateLogGroup" and p.get("tags"):
                out.append(Request("logs:TagResource", arn, _tag_context(p["tags"], "RequestTag"), "tags on create"))
            return out
    if prefix == "elasticloadbalancing" and operation in ("DescribeTargetGroups", "DescribeTargetHealth"):
        return star
    if prefix == "ec2" and operation in ("DescribeSubnets", "DescribeSecurityGroups"):
        return star
    if prefix == "tag" and operation == "GetResources":
        return star
    if prefix == "application-autoscaling":
        return _autoscaling(action, operation, p, n)
    if prefix == "ssm":
        if operation == "GetParameter":
            return [Request(action, n.arn("ssm", f"parameter/{str(p['Name']).lstrip('/')}"))]
        if operation == "GetParametersByPath":
            return [Request(action, n.arn("ssm", f"parameter/{str(p['Path']).strip('/')}"))]
    if prefix == "dynamodb":
        return _dynamodb(operation, p, n)
    if prefix == "states":
        if operation == "StartExecution":
            return [Request(action, str(p["stateMachineArn"]))]
        if operation in ("DescribeExecution", "StopExecution"):
            return [Request(action, str(p["executionArn"]))]
        if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
            return star
    if prefix == "sns" and operation == "Publish":
        topic = str(p["TopicArn"])
        out = [Request(action, topic)]
        env = _env_of(topic.rsplit(":", 1)[-1])
        if env is not None:  # the environments' topics are encrypted with their keys (modules/environment)
            context = {
                "kms:ViaService": (f"sns.{n.region}.amazonaws.com",),
                "kms:ResourceAliases": (f"alias/cart-service-{env}",),
            }
            for kms_action in ("kms:GenerateDataKey", "kms:Decrypt"):
                out.append(Request(kms_action, n.environment_key(env), context, "publishing to a KMS-encrypted topic"))
        return out
    raise UnknownCall(f"{action} {dict(p)}")


def _service_linked_role(n: Naming, service: str, role: str) -> Request:
    return Request(
        "iam:CreateServiceLinkedRole",
        f"arn:{n.partition}:iam::{n.account}:role/aws-service-role/{service}/{role}",
        {"iam:AWSServiceName": (service,)},
        f"{service} creates its service-linked role on first use",
    )


def _autoscaling(action: str, operation: str, p: Mapping[str, Any], n: Naming) -> list[Request]:
    if operation in ("DescribeScalableTargets", "DescribeScalingPolicies"):
        return [Request(action, "*")]
    resource_id = str(p["ResourceId"])  # service/<cluster>/<service>
    target = n.arn("application-autoscaling", "scalable-target/*")  # a generated id, not the service's name
    namespace = {
        "application-autoscaling:service-namespace": (str(p["ServiceNamespace"]),),
        "application-autoscaling:scalable-dimension": (str(p.get("ScalableDimension", "")),),
    }
    _, cluster, service = resource_id.split("/", 2)
    env = _env_of(service)
    # the targets the control plane registers carry cart:environment (AwsPlatform.configure_autoscaling)
    resource_tags = {"aws:ResourceTag/cart:environment": (env,)} if env else {}
    service_arn = n.arn("ecs", f"service/{cluster}/{service}")
    if operation == "RegisterScalableTarget":
        tags = _tag_context(p.get("Tags") or {}, "RequestTag")
        out = [Request(action, target, {**namespace, **tags})]
        if p.get("Tags"):
            out.append(Request("application-autoscaling:TagResource", target, tags, "tags on create"))
        why = "Application Auto Scaling checks the caller may change the service it scales"
        out += [
            Request("ecs:DescribeServices", service_arn, {"ecs:cluster": (n.arn("ecs", f"cluster/{cluster}"),)}, why),
            Request("ecs:UpdateService", service_arn, {"ecs:cluster": (n.arn("ecs", f"cluster/{cluster}"),)}, why),
            _service_linked_role(
                n, "ecs.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_ECSService"
            ),
        ]
        return out
    if operation in ("PutScalingPolicy", "DeleteScalingPolicy", "DeregisterScalableTarget"):
        out = [Request(action, target, {**namespace, **resource_tags})]
        tracking = operation != "PutScalingPolicy" or p.get("PolicyType") == "TargetTrackingScaling"
        if tracking:  # target tracking makes (and deletes) its CloudWatch alarms with the caller's permissions
            why = "target tracking creates and deletes its alarms on the caller's behalf"
            for suffix in ("AlarmHigh", "AlarmLow"):
                alarm = n.arn("cloudwatch", f"alarm:TargetTracking-{resource_id}-{suffix}-0a1b2c3d")
                if operation == "PutScalingPolicy":
                    out.append(Request("cloudwatch:PutMetricAlarm", alarm, {}, why))
                out.append(Request("cloudwatch:DescribeAlarms", alarm, {}, why))
                out.append(Request("cloudwatch:DeleteAlarms", alarm, {}, why))
        return out
    raise UnknownCall(f"{action} {dict(p)}")


def _dynamodb(operation: str, p: Mapping[str, Any], n: Naming) -> list[Request]:
    def table(name: str, index: str | None = None) -> str:
        return n.arn("dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))

    def key(action: str, name: str) -> list[Request]:
        if not name.startswith("cart-controlplane-") or not n.controlplane_key_arn:
            return []
        why = "the registry table is encrypted with the control plane's key"
        via = {"kms:ViaService": (f"dynamodb.{n.region}.amazonaws.com",)}
        kms = ["kms:Decrypt"] if action in ("GetItem", "Query") else ["kms:Decrypt", "kms:GenerateDataKey"]
        return [Request(a, n.controlplane_key_arn, via, why) for a in kms]

    if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "DescribeTable"):
        name = str(p["TableName"])
        out = [Request(f"dynamodb:{operation}", table(name, p.get("IndexName")))]
        return out + (key(operation, name) if operation != "DescribeTable" else [])
    if operation == "TransactWriteItems":  # authorized item by item, as the single-item actions
        out = []
        for item in p["TransactItems"]:
            ((kind, body),) = item.items()
            single = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}.get(kind, "ConditionCheckItem")
            out.append(Request(f"dynamodb:{single}", table(str(body["TableName"]))))
            out += key(single, str(body["TableName"]))
        return out
    raise UnknownCall(f"dynamodb:{operation} {dict(p)}")


# ---------------------------------------------------------------------------------------------------------------
# The recorder
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    requests: tuple[Request, ...]
    denied: tuple[Request, ...] = ()


class AccessDenied(Exception):
    pass


class CallRecorder:
    """Records every call made through the clients it is attached to; with ``policy`` set, refuses (before
    sending) every call the policy does not allow, as AWS would, with AccessDeniedException."""

    def __init__(self, naming: Naming, policy: Mapping[str, Any] | None = None) -> None:
        self.naming = naming
        self.policy = policy
        self.calls: list[Call] = []
        self.unknown: list[str] = []
        self._lock = threading.Lock()

    def wrap(self, service: str, client: Any) -> Any:
        """container.build's ``wrap``: attach to the client and hand it back."""
        client.meta.events.register("before-parameter-build", self._authorize)
        client.meta.events.register("before-call", self._refuse)
        return client

    def denials(self, policy: Mapping[str, Any]) -> list[Request]:
        """Every recorded authorization (implicit ones included) ``policy`` does not allow."""
        unique = {str(r): r for call in self.calls for r in call.requests}
        return [r for r in unique.values() if evaluate(policy, r) != ALLOW]

    def actions(self) -> set[str]:
        return {r.action for c in self.calls for r in c.requests}

    def _authorize(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        signing = model.service_model.signing_name or model.service_model.endpoint_prefix
        prefix = IAM_PREFIX.get(signing, signing)
        try:
            requests = requests_for(prefix, model.name, params, self.naming)
        except UnknownCall as exc:
            with self._lock:
                self.unknown.append(str(exc))
            requests = [Request(f"{prefix}:{model.name}", "?")]
        denied = tuple(r for r in requests if self.policy is not None and evaluate(self.policy, r) != ALLOW)
        with self._lock:
            self.calls.append(Call(prefix, model.name, tuple(requests), denied))
        if denied:
            context["iam_denied"] = denied

    def _refuse(self, context: dict[str, Any], model: Any, **_: Any) -> Any:
        denied: Iterable[Request] = context.get("iam_denied") or ()
        first = next(iter(denied), None)
        if first is None:
            return None
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        message = f"User: cart-controlplane lambda role is not authorized to perform: {first} (denied by the policy)"
        parsed = {"Error": {"Code": "AccessDeniedException", "Message": message}, "ResponseMetadata": {}}
        return AWSResponse("https://denied.invalid/", 400, HTTPHeaders(), None), parsed
