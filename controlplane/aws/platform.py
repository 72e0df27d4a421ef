"""The Platform port over AWS: ECS, ECR, CodeBuild, Logs, ELBv2, Application Auto Scaling, SSM.

Every method is safe to repeat: "already there" and "already gone" are successes. Decisions about what a
description means (primary deployment, rollback, reuse of a task definition) are in ``domain/rollout.py``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controlplane.aws.clients import ClientError, error_code, explain, is_not_found, translated
from controlplane.domain import rollout
from controlplane.domain.contract import Contract, ContractError, contract_parameter_name, parse_contract
from controlplane.domain.plans import Inventory
from controlplane.domain.times import iso
from controlplane.errors import BaseInfrastructureMissing, StepError
from controlplane.ports import BuildStatus, ServiceChange

MANAGED_BY = "controlplane"
SERVICE_EVENTS_SHOWN = 5
STOPPED_TASKS_SHOWN = 5


def env_tags(environment: str) -> dict[str, str]:
    return {"cart:environment": environment, "cart:managed-by": MANAGED_BY}


def _tag_list(environment: str) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in env_tags(environment).items()]


@dataclass(frozen=True)
class Clients:
    ecs: Any
    ecr: Any
    codebuild: Any
    logs: Any
    elbv2: Any
    autoscaling: Any
    ssm: Any
    ec2: Any
    dynamodb: Any
    tagging: Any = None  # Resource Groups Tagging API (the destroy sweep)


class AwsPlatform:
    def __init__(
        self, clients: Clients, contract_prefix: str = "/cart-service", environments: Sequence[str] = ()
    ) -> None:
        self.c = clients
        self._prefix = contract_prefix
        self._environments = tuple(environments)  # declared: read only their contracts (the IAM policy's scope)

    @property
    def region(self) -> str:
        return str(self.c.ecs.meta.region_name)

    # contract and base ---------------------------------------------------------------------------------------
    def explain(self, exc: Exception) -> StepError | None:
        return explain(exc)

    def read_contract(self, environment: str) -> Contract:
        name = contract_parameter_name(self._prefix, environment)
        try:
            with translated():
                raw = self.c.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                raise BaseInfrastructureMissing(
                    f"no contract published for {environment}: SSM parameter {name} is missing "
                    "(apply the environment's Terraform first)"
                ) from None
            raise
        try:
            return parse_contract(raw, environment)
        except ContractError as exc:
            raise BaseInfrastructureMissing(f"contract {name} is invalid: {exc}") from None

    def contracts(self) -> Mapping[str, Contract]:
        """Every environment's contract under the prefix (only the declared environments', when the stage declares
        them); an unreadable one is skipped (its provision says why)."""
        if self._environments:
            return self._declared_contracts()
        found: dict[str, Contract] = {}
        root = self._prefix.rstrip("/") + "/"
        with translated():
            for page in self.c.ssm.get_paginator("get_parameters_by_path").paginate(Path=root, Recursive=True):
                for param in page.get("Parameters", []):
                    name = str(param["Name"])
                    if not name.endswith("/contract"):
                        continue
                    env = name[len(root) :].removesuffix("/contract")
                    try:
                        found[env] = parse_contract(param["Value"], env)
                    except ContractError:
                        continue
        return found

    def _declared_contracts(self) -> dict[str, Contract]:
        found: dict[str, Contract] = {}
        for env in self._environments:
            try:
                found[env] = self.read_contract(env)
            except BaseInfrastructureMissing:
                continue
        return found

    def missing_base(self, k: Contract) -> list[str]:
        """Names of the Terraform-owned resources that are not there."""
        missing: list[str] = []
        with translated():
            clusters = self.c.ecs.describe_clusters(clusters=[k.cluster_name]).get("clusters", [])
            if not any(c.get("status") == "ACTIVE" for c in clusters):
                missing.append(f"ECS cluster {k.cluster_name}")
            checks: tuple[tuple[str, Callable[[], Any]], ...] = (
                ("subnets", lambda: self.c.ec2.describe_subnets(SubnetIds=list(k.subnet_ids))),
                ("security groups", lambda: self.c.ec2.describe_security_groups(GroupIds=list(k.security_group_ids))),
                ("target group", lambda: self.c.elbv2.describe_target_groups(TargetGroupArns=[k.target_group_arn])),
                ("ECR repository", lambda: self.c.ecr.describe_repositories(repositoryNames=[k.ecr_repository_name])),
                ("data table", lambda: self.c.dynamodb.describe_table(TableName=k.data_table_name)),
            )
            for label, call in checks:
                try:
                    call()
                except ClientError as exc:
                    if error_code(exc) in ("Throttling", "ThrottlingException") or _status(exc) >= 500:
                        raise
                    missing.append(f"{label} ({error_code(exc)})")
        return missing

    # images and builds ---------------------------------------------------------------------------------------
    def repository_uri(self, repo: str) -> str:
        with translated():
            return str(self.c.ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["repositoryUri"])

    def _images(self, repo: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with translated():
            for page in self.c.ecr.get_paginator("describe_images").paginate(repositoryName=repo):
                out += page.get("imageDetails", [])
        return out

    def digest_for_tag(self, repo: str, tag: str) -> str | None:
        try:
            with translated():
                details = self.c.ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])
        except ClientError as exc:
            if is_not_found(exc, "ImageNotFoundException"):
                return None
            raise
        images = details.get("imageDetails", [])
        return str(images[0]["imageDigest"]) if images else None

    def image_exists(self, repo: str, digest: str) -> bool:
        try:
            with translated():
                self.c.ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])
        except ClientError as exc:
            if is_not_found(exc, "ImageNotFoundException"):
                return False
            raise
        return True

    def newest_image(self, repo: str) -> tuple[str, str | None] | None:
        images = self._images(repo)
        if not images:
            return None
        newest = max(images, key=lambda i: str(i.get("imagePushedAt", "")))
        tags = newest.get("imageTags") or []
        return str(newest["imageDigest"]), (str(tags[0]) if tags else None)

    def start_build(self, k: Contract, source_version: str | None, image_tag: str, idempotency_token: str) -> str:
        """Build from the contract's source (the CI/CD connection's repository and branch) unless the caller
        names a source version of the project's own source."""
        args: dict[str, Any] = {
            "projectName": k.codebuild_project_name,
            "environmentVariablesOverride": [{"name": "IMAGE_TAG", "value": image_tag, "type": "PLAINTEXT"}],
            "idempotencyToken": idempotency_token,
        }
        src = k.build_source
        if src is not None:
            args |= {
                "sourceTypeOverride": src.source_type,
                "sourceLocationOverride": src.location,
                "sourceVersion": source_version or src.branch,
            }
            if src.connection_arn:
                args["sourceAuthOverride"] = {"type": "CODECONNECTIONS", "resource": src.connection_arn}
        elif source_version:
            args["sourceVersion"] = source_version
        with translated():
            build = self.c.codebuild.start_build(**args)["build"]
        return str(build["id"])

    def build_status(self, build_id: str) -> BuildStatus:
        with translated():
            builds = self.c.codebuild.batch_get_builds(ids=[build_id]).get("builds", [])
        if not builds:
            return BuildStatus("UNKNOWN", "UNKNOWN")
        b = builds[0]
        failed = next(
            (p for p in b.get("phases", []) if p.get("phaseStatus") not in (None, "SUCCEEDED", "IN_PROGRESS")), None
        )
        logs = b.get("logs") or {}
        return BuildStatus(
            status=str(b.get("buildStatus")),
            phase=str(b.get("currentPhase")),
            failed_phase=str(failed["phaseType"]) if failed else None,
            phase_context=tuple(str(c.get("message", "")) for c in (failed or {}).get("contexts", [])),
            logs_url=logs.get("deepLink"),
        )

    def stop_build(self, build_id: str) -> None:
        try:
            with translated():
                self.c.codebuild.stop_build(id=build_id)
        except ClientError as exc:
            if error_code(exc) not in ("InvalidInputException", "ResourceNotFoundException"):
                raise

    # task definitions -----------------------------------------------------------------------------------------
    def _ensure_log_group(self, k: Contract) -> None:
        try:
            with translated():
                self.c.logs.create_log_group(logGroupName=k.log_group_name, tags=env_tags(k.environment))
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
            return
        with translated():
            self.c.logs.put_retention_policy(logGroupName=k.log_group_name, retentionInDays=k.log_retention_days)

    def task_definition_spec(self, k: Contract, image: str) -> dict[str, Any]:
        return {
            "family": k.task_family,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": k.task_cpu,
            "memory": k.task_memory,
            "executionRoleArn": k.execution_role_arn,
            "taskRoleArn": k.task_role_arn,
            "containerDefinitions": [
                {
                    "name": k.container_name,
                    "image": image,
                    "essential": True,
                    "portMappings": [{"containerPort": k.container_port, "protocol": "tcp"}],
                    "environment": [
                        {"name": "CART_TABLE", "value": k.data_table_name},
                        {"name": "ENVIRONMENT", "value": k.environment},
                    ],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": k.log_group_name,
                            "awslogs-region": self.region,
                            "awslogs-stream-prefix": k.container_name,
                        },
                    },
                }
            ],
        }

    def register_task_definition(self, k: Contract, image: str) -> str:
        """A revision pinned to the image; the family's latest ACTIVE revision is reused when it already is."""
        spec = self.task_definition_spec(k, image)
        with translated():
            try:
                latest = self.c.ecs.describe_task_definition(taskDefinition=k.task_family)["taskDefinition"]
            except ClientError as exc:
                if error_code(exc) not in ("ClientException", "InvalidParameterException") and not is_not_found(exc):
                    raise
                latest = None
        if rollout.reusable(latest, spec):
            assert latest is not None
            return str(latest["taskDefinitionArn"])
        self._ensure_log_group(k)
        with translated():
            td = self.c.ecs.register_task_definition(**spec, tags=_tag_list(k.environment))["taskDefinition"]
        return str(td["taskDefinitionArn"])

    def task_definition_images(self, arns: Sequence[str]) -> dict[str, str | None]:
        images: dict[str, str | None] = {}
        for arn in dict.fromkeys(arns):
            try:
                with translated():
                    td = self.c.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            except ClientError as exc:
                if error_code(exc) not in ("ClientException", "InvalidParameterException"):
                    raise
                images[arn] = None
                continue
            containers = td.get("containerDefinitions", [])
            images[arn] = str(containers[0]["image"]) if containers else None
        return images

    # the service ----------------------------------------------------------------------------------------------
    def describe_service(self, k: Contract) -> dict[str, Any] | None:
        with translated():
            try:
                found = self.c.ecs.describe_services(cluster=k.cluster_name, services=[k.service_name]).get(
                    "services", []
                )
            except ClientError as exc:
                if is_not_found(exc, "ClusterNotFoundException"):
                    return None
                raise
        return dict(found[0]) if found else None

    def _deployment_configuration(self, k: Contract) -> dict[str, Any]:
        config: dict[str, Any] = {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        }
        if k.alarm_names:
            config["alarms"] = {"alarmNames": list(k.alarm_names), "enable": True, "rollback": True}
        return config

    def _network(self, k: Contract) -> dict[str, Any]:
        return {
            "awsvpcConfiguration": {
                "subnets": list(k.subnet_ids),
                "securityGroups": list(k.security_group_ids),
                "assignPublicIp": "ENABLED" if k.assign_public_ip else "DISABLED",
            }
        }

    def _load_balancers(self, k: Contract) -> list[dict[str, Any]]:
        return [
            {"targetGroupArn": k.target_group_arn, "containerName": k.container_name, "containerPort": k.container_port}
        ]

    def _capacity(self, k: Contract) -> list[dict[str, Any]]:
        return [{"capacityProvider": "FARGATE_SPOT" if k.profile.fargate_spot else "FARGATE", "weight": 1, "base": 0}]

    def apply_service(self, k: Contract, task_definition: str | None, desired_on_create: int) -> ServiceChange:
        """Create the service, or update it to the task definition (None: a new deployment of what it runs).

        Every update applies the contract's network, load balancer, capacity provider and rollback alarms (so a
        contract change reaches a running service) and leaves the desired count alone (autoscaling owns it)."""
        with translated():
            try:
                svc = self.c.ecs.update_service(
                    cluster=k.cluster_name,
                    service=k.service_name,
                    **({"taskDefinition": task_definition} if task_definition else {}),
                    forceNewDeployment=True,
                    networkConfiguration=self._network(k),
                    loadBalancers=self._load_balancers(k),
                    capacityProviderStrategy=self._capacity(k),
                    deploymentConfiguration=self._deployment_configuration(k),
                )["service"]
                previous = self._previous(svc)
            except ClientError as exc:
                if not is_not_found(exc, "ServiceNotFoundException", "ServiceNotActiveException"):
                    raise
                if task_definition is None:
                    raise
                svc = self.c.ecs.create_service(
                    cluster=k.cluster_name,
                    serviceName=k.service_name,
                    taskDefinition=task_definition,
                    desiredCount=desired_on_create,
                    capacityProviderStrategy=self._capacity(k),
                    deploymentConfiguration=self._deployment_configuration(k),
                    networkConfiguration=self._network(k),
                    loadBalancers=self._load_balancers(k),
                    healthCheckGracePeriodSeconds=60,
                    propagateTags="SERVICE",
                    enableECSManagedTags=True,
                    tags=_tag_list(k.environment),
                )["service"]
                previous = None
        head = rollout.primary(svc) or (svc.get("deployments") or [{}])[0]
        return ServiceChange(
            deployment_id=str(head.get("id", "")),
            task_definition_arn=str(svc.get("taskDefinition")),
            previous_task_definition_arn=previous,
            desired_count=int(svc.get("desiredCount", 0)),
            service=dict(svc),
        )

    @staticmethod
    def _previous(svc: Mapping[str, Any]) -> str | None:
        """The task definition served before this update: the newest other deployment's."""
        head = rollout.primary(svc) or {}
        others = [d for d in svc.get("deployments", []) if d.get("id") != head.get("id")]
        if others:
            return str(others[0].get("taskDefinition"))
        return str(head.get("taskDefinition") or svc.get("taskDefinition") or "") or None

    def deployment_outcome(self, k: Contract, deployment_id: str) -> rollout.DeploymentOutcome:
        return rollout.outcome_of(self.describe_service(k), deployment_id)

    def rollout_progress(self, cluster: str, service: str, deployment_id: str) -> dict[str, Any]:
        with translated():
            found = self.c.ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
        deployments: list[dict[str, Any]] = found[0].get("deployments", []) if found else []
        mine: dict[str, Any] = next((d for d in deployments if d.get("id") == deployment_id), {})
        return {
            "deployment_id": deployment_id,
            "task_definition_arn": mine.get("taskDefinition"),
            "desired_count": int(mine.get("desiredCount", 0)),
            "running_count": int(mine.get("runningCount", 0)),
            "pending_count": int(mine.get("pendingCount", 0)),
            "failed_tasks": int(mine.get("failedTasks", 0)),
            "rollout_state": mine.get("rolloutState"),
        }

    def failure_details(self, k: Contract, deployment_id: str | None) -> dict[str, Any]:
        details: dict[str, Any] = {}
        svc = self.describe_service(k)
        if svc is not None:
            events = sorted(svc.get("events", []), key=lambda e: _event_time(e.get("createdAt")), reverse=True)
            details["service_events"] = [
                {"at": iso(_event_time(e.get("createdAt"))), "message": str(e.get("message", ""))}
                for e in events[:SERVICE_EVENTS_SHOWN]
            ]
        stopped = self._stopped_tasks(k, deployment_id)
        if stopped:
            details["stopped_tasks"] = stopped
            details["logs"] = self._logs(k, stopped[0]["task_id"])
        else:
            details["logs"] = {"group": k.log_group_name, "console_url": self._console_logs_url(k.log_group_name)}
        return details

    def _stopped_tasks(self, k: Contract, deployment_id: str | None) -> list[dict[str, Any]]:
        with translated():
            try:
                arns = self.c.ecs.list_tasks(
                    cluster=k.cluster_name, serviceName=k.service_name, desiredStatus="STOPPED"
                ).get("taskArns", [])
            except ClientError as exc:
                if is_not_found(exc):
                    return []
                raise
            if not arns:
                return []
            tasks = self.c.ecs.describe_tasks(cluster=k.cluster_name, tasks=arns[:100]).get("tasks", [])
        if deployment_id:
            tasks = [t for t in tasks if t.get("startedBy") in (None, "", deployment_id)] or tasks
        tasks.sort(key=lambda t: str(t.get("stoppedAt") or ""), reverse=True)
        out: list[dict[str, Any]] = []
        for task in tasks[:STOPPED_TASKS_SHOWN]:
            container: dict[str, Any] = next(iter(task.get("containers") or []), {})
            arn = str(task.get("taskArn", ""))
            out.append(
                {
                    "task_arn": arn,
                    "task_id": arn.rsplit("/", 1)[-1],
                    "container": container.get("name"),
                    "stopped_reason": task.get("stoppedReason"),
                    "exit_code": container.get("exitCode"),
                    "container_reason": container.get("reason"),
                }
            )
        return out

    def _console_logs_url(self, group: str, stream: str | None = None) -> str:
        def enc(value: str) -> str:  # the console's own double encoding of log group and stream names
            return urllib.parse.quote(urllib.parse.quote(value, safe=""), safe="").replace("%", "$")

        url = f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}#logsV2:log-groups/log-group/{enc(group)}"
        return url + (f"/log-events/{enc(stream)}" if stream else "")

    def _logs(self, k: Contract, task_id: str) -> dict[str, Any]:
        stream = f"{k.container_name}/{k.container_name}/{task_id}"  # awslogs: <prefix>/<container>/<task id>
        return {
            "group": k.log_group_name,
            "stream": stream,
            "console_url": self._console_logs_url(k.log_group_name, stream),
        }

    def healthy_targets(self, k: Contract) -> int:
        with translated():
            health = self.c.elbv2.describe_target_health(TargetGroupArn=k.target_group_arn)
        return sum(
            1 for t in health.get("TargetHealthDescriptions", []) if t.get("TargetHealth", {}).get("State") == "healthy"
        )

    def scale_service(self, k: Contract, desired_count: int) -> bool:
        try:
            with translated():
                self.c.ecs.update_service(cluster=k.cluster_name, service=k.service_name, desiredCount=desired_count)
        except ClientError as exc:
            if is_not_found(exc, "ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"):
                return False
            raise
        return True

    def delete_service(self, k: Contract) -> bool:
        try:
            with translated():
                self.c.ecs.delete_service(cluster=k.cluster_name, service=k.service_name, force=True)
        except ClientError as exc:
            if is_not_found(exc, "ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"):
                return False
            raise
        return True

    # autoscaling ------------------------------------------------------------------------------------------------
    def _resource_id(self, k: Contract) -> str:
        return f"service/{k.cluster_name}/{k.service_name}"

    def scalable_target(self, k: Contract) -> dict[str, Any] | None:
        with translated():
            found = self.c.autoscaling.describe_scalable_targets(
                ServiceNamespace="ecs", ResourceIds=[self._resource_id(k)]
            ).get("ScalableTargets", [])
        return dict(found[0]) if found else None

    def configure_autoscaling(self, k: Contract, low: int, high: int) -> None:
        with translated():
            # Tagged with the environment: the Lambda policy allows scaling actions on targets by that tag (their
            # ARNs carry a generated id, not the service's name).
            self.c.autoscaling.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=self._resource_id(k),
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=low,
                MaxCapacity=high,
                Tags=env_tags(k.environment),
            )
            self.c.autoscaling.put_scaling_policy(
                PolicyName=f"{k.service_name}-cpu",
                ServiceNamespace="ecs",
                ResourceId=self._resource_id(k),
                ScalableDimension="ecs:service:DesiredCount",
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": float(k.profile.cpu_target_percent),
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                    "ScaleInCooldown": 120,
                    "ScaleOutCooldown": 60,
                },
            )

    def remove_autoscaling(self, k: Contract) -> bool:
        try:
            with translated():
                self.c.autoscaling.deregister_scalable_target(
                    ServiceNamespace="ecs",
                    ResourceId=self._resource_id(k),
                    ScalableDimension="ecs:service:DesiredCount",
                )
        except ClientError as exc:
            gone = error_code(exc) == "ValidationException" and "No scalable target" in str(exc)
            if is_not_found(exc, "ObjectNotFoundException") or gone:
                return False
            raise
        return True

    # the sweep --------------------------------------------------------------------------------------------------
    def _task_definitions(self, family: str, status: str) -> list[str]:
        arns: list[str] = []
        with translated():
            for page in self.c.ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status=status):
                arns += [a for a in page.get("taskDefinitionArns", []) if rollout.family(a) == family]
        return arns

    def deregister_task_definitions(self, family: str) -> int:
        """Deregister the family's ACTIVE revisions, then delete every INACTIVE one (so no tagged revision stays)."""
        count = 0
        for arn in self._task_definitions(family, "ACTIVE"):
            try:
                with translated():
                    self.c.ecs.deregister_task_definition(taskDefinition=arn)
                count += 1
            except ClientError as exc:
                if error_code(exc) not in ("ClientException", "InvalidParameterException"):
                    raise
        inactive = self._task_definitions(family, "INACTIVE")
        with translated():
            for start in range(0, len(inactive), 10):  # DeleteTaskDefinitions takes at most 10
                self.c.ecs.delete_task_definitions(taskDefinitions=inactive[start : start + 10])
        return count

    def delete_images(self, repo: str) -> int:
        try:
            digests = sorted({str(i["imageDigest"]) for i in self._images(repo)})
        except ClientError as exc:
            if is_not_found(exc, "RepositoryNotFoundException"):
                return 0
            raise
        for start in range(0, len(digests), 100):
            with translated():
                self.c.ecr.batch_delete_image(
                    repositoryName=repo, imageIds=[{"imageDigest": d} for d in digests[start : start + 100]]
                )
        return len(digests)

    def log_groups(self, k: Contract) -> list[str]:
        names: list[str] = []
        with translated():
            for prefix in (k.runtime_log_prefix, k.container_insights_log_group):
                for page in self.c.logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
                    names += [g["logGroupName"] for g in page.get("logGroups", [])]
        return sorted(set(names))

    def delete_log_groups(self, names: Sequence[str]) -> int:
        deleted = 0
        for name in names:
            try:
                with translated():
                    self.c.logs.delete_log_group(logGroupName=name)
                deleted += 1
            except ClientError as exc:
                if not is_not_found(exc, "ResourceNotFoundException"):
                    raise
        return deleted

    def tagged_leftovers(self, k: Contract) -> list[str]:
        """ARNs still tagged as the control plane's for this environment (a deleted, INACTIVE service aside)."""
        if self.c.tagging is None:
            return []
        filters = [
            {"Key": "cart:environment", "Values": [k.environment]},
            {"Key": "cart:managed-by", "Values": [MANAGED_BY]},
        ]
        arns: list[str] = []
        with translated():
            for page in self.c.tagging.get_paginator("get_resources").paginate(TagFilters=filters):
                arns += [r["ResourceARN"] for r in page.get("ResourceTagMappingList", [])]
        svc = self.describe_service(k)
        if svc is None or svc.get("status") == "INACTIVE":
            arns = [a for a in arns if not a.endswith(f"service/{k.cluster_name}/{k.service_name}")]
        return sorted(arns)

    def inventory(self, k: Contract) -> Inventory:
        svc = self.describe_service(k)
        try:
            images = tuple(sorted({str(i["imageDigest"]) for i in self._images(k.ecr_repository_name)}))
        except ClientError as exc:
            if not is_not_found(exc, "RepositoryNotFoundException"):
                raise
            images = ()
        return Inventory(
            environment=k.environment,
            cluster=k.cluster_name,
            service_name=k.service_name,
            service_status=str(svc["status"]) if svc else None,
            desired_count=int(svc.get("desiredCount", 0)) if svc else 0,
            running_count=int(svc.get("runningCount", 0)) if svc else 0,
            scalable_target=self.scalable_target(k) is not None,
            task_definitions=tuple(self._task_definitions(k.task_family, "ACTIVE")),
            images=images,
            log_groups=tuple(self.log_groups(k)),
        )


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _event_time(value: Any) -> float:
    """A service event's createdAt (a datetime from the SDK) as epoch seconds; 0 when it has none."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0
