"""The environment contract Terraform publishes (see docs/contract.md), parsed and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CONTRACT_VERSION = 1


class ContractError(ValueError):
    """The contract is missing, malformed, or lacks a field."""


def contract_parameter_name(prefix: str, environment: str) -> str:
    return f"{prefix.rstrip('/')}/{environment}/contract"


@dataclass(frozen=True)
class Profile:
    desired_count: int
    min_count: int
    max_count: int
    autoscaling: bool
    fargate_spot: bool
    cpu_target_percent: int = 60

    def to_dict(self) -> dict[str, Any]:
        return {
            "desired_count": self.desired_count,
            "min_count": self.min_count,
            "max_count": self.max_count,
            "autoscaling": self.autoscaling,
            "fargate_spot": self.fargate_spot,
            "cpu_target_percent": self.cpu_target_percent,
        }


@dataclass(frozen=True)
class BuildSource:
    """Where the image's source lives (the CI/CD connection's repository), for a build the control plane starts."""

    source_type: str  # CodeBuild's source type: GITHUB | GITHUB_ENTERPRISE | GITLAB | GITLAB_SELF_MANAGED | BITBUCKET
    location: str  # the repository's clone URL
    branch: str
    connection_arn: str | None = None  # CodeConnections (CodeStar) connection that authorizes the clone

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.source_type,
            "location": self.location,
            "branch": self.branch,
            "connection_arn": self.connection_arn,
        }


@dataclass(frozen=True)
class Contract:
    environment: str
    tier: str
    cluster_name: str
    service_name: str
    task_family: str
    container_name: str
    container_port: int
    task_cpu: str
    task_memory: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    assign_public_ip: bool
    target_group_arn: str
    ecr_repository_name: str
    data_table_name: str
    codebuild_project_name: str
    execution_role_arn: str
    task_role_arn: str
    log_group_name: str
    log_retention_days: int
    profile: Profile
    alarm_names: tuple[str, ...] = ()  # deployments roll back when one of them alarms
    build_source: BuildSource | None = None
    alb_dns_name: str | None = None
    notification_topic_arn: str | None = None
    insights_log_group: str | None = None  # the contract's container_insights_log_group, when it names one

    @property
    def url(self) -> str | None:
        return f"http://{self.alb_dns_name}" if self.alb_dns_name else None

    @property
    def container_insights_log_group(self) -> str:
        return self.insights_log_group or f"/aws/ecs/containerinsights/{self.cluster_name}/performance"

    @property
    def runtime_log_prefix(self) -> str:
        return f"/cart-service/{self.environment}/"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CONTRACT_VERSION,
            "environment": self.environment,
            "tier": self.tier,
            "cluster_name": self.cluster_name,
            "service_name": self.service_name,
            "task_family": self.task_family,
            "container_name": self.container_name,
            "container_port": self.container_port,
            "task_cpu": self.task_cpu,
            "task_memory": self.task_memory,
            "subnet_ids": list(self.subnet_ids),
            "security_group_ids": list(self.security_group_ids),
            "assign_public_ip": self.assign_public_ip,
            "target_group_arn": self.target_group_arn,
            "ecr_repository_name": self.ecr_repository_name,
            "data_table_name": self.data_table_name,
            "codebuild_project_name": self.codebuild_project_name,
            "execution_role_arn": self.execution_role_arn,
            "task_role_arn": self.task_role_arn,
            "log_group_name": self.log_group_name,
            "log_retention_days": self.log_retention_days,
            "profile": self.profile.to_dict(),
            "alarm_names": list(self.alarm_names),
            "build_source": self.build_source.to_dict() if self.build_source else None,
            "alb_dns_name": self.alb_dns_name,
            "notification_topic_arn": self.notification_topic_arn,
            "container_insights_log_group": self.insights_log_group,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _req(data: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    if key not in data:
        raise ContractError(f"contract field {where}{key!r} is missing")
    value = data[key]
    if kind is int and isinstance(value, bool):
        raise ContractError(f"contract field {where}{key!r} must be an integer")
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, kind):
        raise ContractError(f"contract field {where}{key!r} must be {kind.__name__}, got {type(value).__name__}")
    if kind is str and not value:
        raise ContractError(f"contract field {where}{key!r} must not be empty")
    return value


def _str_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    values = _req(data, key, list)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ContractError(f"contract field {key!r} must be a non-empty list of strings")
    return tuple(values)


def parse_contract(raw: str | dict[str, Any], environment: str) -> Contract:
    """Parse the published JSON; every problem is reported with the field's name."""
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ContractError(f"contract is not valid JSON: {exc}") from exc
    else:
        data = raw
    if not isinstance(data, dict):
        raise ContractError("contract must be a JSON object")
    version = _req(data, "version", int)
    if version != CONTRACT_VERSION:
        raise ContractError(f"contract version {version} is not supported (expected {CONTRACT_VERSION})")
    env = _req(data, "environment", str)
    if env != environment:
        raise ContractError(f"contract is for environment {env!r}, not {environment!r}")
    prof = _req(data, "profile", dict)
    profile = Profile(
        desired_count=_req(prof, "desired_count", int, "profile."),
        min_count=_req(prof, "min_count", int, "profile."),
        max_count=_req(prof, "max_count", int, "profile."),
        autoscaling=_req(prof, "autoscaling", bool, "profile."),
        fargate_spot=_req(prof, "fargate_spot", bool, "profile."),
        cpu_target_percent=int(prof.get("cpu_target_percent", 60)),
    )
    if not 0 <= profile.min_count <= profile.desired_count <= profile.max_count:
        raise ContractError("contract profile must satisfy 0 <= min_count <= desired_count <= max_count")
    return Contract(
        environment=env,
        tier=_req(data, "tier", str),
        cluster_name=_req(data, "cluster_name", str),
        service_name=_req(data, "service_name", str),
        task_family=_req(data, "task_family", str),
        container_name=_req(data, "container_name", str),
        container_port=_req(data, "container_port", int),
        task_cpu=_req(data, "task_cpu", str),
        task_memory=_req(data, "task_memory", str),
        subnet_ids=_str_list(data, "subnet_ids"),
        security_group_ids=_str_list(data, "security_group_ids"),
        assign_public_ip=bool(data.get("assign_public_ip", False)),
        target_group_arn=_req(data, "target_group_arn", str),
        ecr_repository_name=_req(data, "ecr_repository_name", str),
        data_table_name=_req(data, "data_table_name", str),
        codebuild_project_name=_req(data, "codebuild_project_name", str),
        execution_role_arn=_req(data, "execution_role_arn", str),
        task_role_arn=_req(data, "task_role_arn", str),
        log_group_name=_req(data, "log_group_name", str),
        log_retention_days=int(data.get("log_retention_days", 14)),
        profile=profile,
        alarm_names=_optional_str_list(data, "alarm_names"),
        build_source=_build_source(data.get("build_source")),
        alb_dns_name=_optional_str(data, "alb_dns_name"),
        notification_topic_arn=_optional_str(data, "notification_topic_arn"),
        insights_log_group=_optional_str(data, "container_insights_log_group"),
    )


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ContractError(f"contract field {key!r} must be a string")
    return value


def _optional_str_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    values = data.get(key)
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ContractError(f"contract field {key!r} must be a list of strings")
    return tuple(values)


SOURCE_TYPES = ("GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET")


def _build_source(raw: Any) -> BuildSource | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ContractError("contract field 'build_source' must be an object")
    kind = _req(raw, "type", str, "build_source.")
    if kind not in SOURCE_TYPES:
        raise ContractError(f"contract field 'build_source.type' must be one of {', '.join(SOURCE_TYPES)}")
    return BuildSource(
        source_type=kind,
        location=_req(raw, "location", str, "build_source."),
        branch=_req(raw, "branch", str, "build_source."),
        connection_arn=_optional_str(raw, "connection_arn"),
    )


def tier_profile(tier: str) -> Profile:
    """The settings table (docs/contract.md), as Terraform's environments publish it."""
    table = {
        "dev": Profile(desired_count=1, min_count=1, max_count=1, autoscaling=False, fargate_spot=True),
        "staging": Profile(desired_count=2, min_count=2, max_count=4, autoscaling=True, fargate_spot=False),
        "prod": Profile(desired_count=3, min_count=3, max_count=10, autoscaling=True, fargate_spot=False),
    }
    return table.get(tier, table["dev"])
