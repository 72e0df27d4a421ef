"""What the steps do to AWS: one adapter over ECS, ECR, CodeBuild, Logs, ELBv2, Auto Scaling and SSM.

Every method is safe to repeat: "already there" and "already gone" are successes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlplane.aws.clients import ClientError, error_code, is_not_found, translated
from controlplane.domain.contract import Contract, ContractError, contract_parameter_name, parse_contract
from controlplane.domain.plans import Inventory
from controlplane.errors import BaseInfrastructureMissing

MANAGED_BY = "controlplane"


def env_tags(environment: str) -> dict[str, str]:
    return {"cart:environment": environment, "cart:managed-by": MANAGED_BY}


@dataclass(frozen=True)
class DeploymentOutcome:
    state: str  # IN_PROGRESS | COMPLETED | FAILED
    reason: str
    running_count: int = 0
    desired_count: int = 0


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


class Platform:
    def __init__(self, clients: Clients, contract_prefix: str = "/cart-service") -> None:
        self.c = clients
        self._prefix = contract_prefix

    # contract and base ---------------------------------------------------------------------------------------
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

    def images(self, repo: str) -> list[dict[str, Any]]:
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

    def newest_image(self, repo: str) -> str | None:
        images = self.images(repo)
        if not images:
            return None
        newest = max(images, key=lambda i: str(i.get("imagePushedAt", "")))
        return str(newest["imageDigest"])

    def start_build(self, project: str, source_version: str, image_tag: str, idempotency_token: str) -> str:
        with translated():
            build = self.c.codebuild.start_build(
                projectName=project,
                sourceVersion=source_version,
                environmentVariablesOverride=[{"name": "IMAGE_TAG", "value": image_tag, "type": "PLAINTEXT"}],
                idempotencyToken=idempotency_token,
            )["build"]
        return str(build["id"])

    def build_status(self, build_id: str) -> tuple[str, str]:
        """(buildStatus, currentPhase)."""
        with translated():
            builds = self.c.codebuild.batch_get_builds(ids=[build_id]).get("builds", [])
        if not builds:
            return "UNKNOWN", "UNKNOWN"
        return str(builds[0].get("buildStatus")), str(builds[0].get("currentPhase"))

    # task definitions -----------------------------------------------------------------------------------------
    def ensure_log_group(self, name: str, retention_days: int, environment: str) -> None:
        try:
            with translated():
                self.c.logs.create_log_group(logGroupName=name, tags=env_tags(environment))
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        with translated():
            self.c.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)

    def task_definition_for(self, k: Contract, image: str) -> dict[str, Any]:
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
                            "awslogs-region": self.c.ecs.meta.region_name,
                            "awslogs-stream-prefix": k.container_name,
                        },
                    },
                }
            ],
        }

    def register_task_definition(self, k: Contract, image: str) -> str:
        """Register a revision pinned to the image; reuse the latest ACTIVE one if it already is."""
        with translated():
            try:
                latest = self.c.ecs.describe_task_definition(taskDefinition=k.task_family)["taskDefinition"]
            except ClientError as exc:
                if error_code(exc) not in ("ClientException", "InvalidParameterException") and not is_not_found(exc):
                    raise
                latest = None
            if latest and latest.get("status") == "ACTIVE":
                images = [c.get("image") for c in latest.get("containerDefinitions", [])]
                if images == [image] and latest.get("cpu") == k.task_cpu and latest.get("memory") == k.task_memory:
                    return str(latest["taskDefinitionArn"])
            spec = self.task_definition_for(k, image)
            tags = [{"key": key, "value": v} for key, v in env_tags(k.environment).items()]
            td = self.c.ecs.register_task_definition(**spec, tags=tags)["taskDefinition"]
        return str(td["taskDefinitionArn"])

    def task_definition_image(self, arn: str) -> str:
        with translated():
            td = self.c.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        return str(td["containerDefinitions"][0]["image"])

    # the service ----------------------------------------------------------------------------------------------
    def describe_service(self, cluster: str, service: str) -> dict[str, Any] | None:
        with translated():
            try:
                found = self.c.ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
            except ClientError as exc:
                if is_not_found(exc, "ClusterNotFoundException"):
                    return None
                raise
        return dict(found[0]) if found else None

    def apply_service(self, k: Contract, task_definition: str, desired_count: int, fargate_spot: bool) -> str:
        """Create the service, or update it to the task definition (force a new deployment if unchanged).

        Returns the id of the deployment this call started.
        """
        current = self.describe_service(k.cluster_name, k.service_name)
        with translated():
            if current is None or current.get("status") == "INACTIVE":
                provider = "FARGATE_SPOT" if fargate_spot else "FARGATE"
                svc = self.c.ecs.create_service(
                    cluster=k.cluster_name,
                    serviceName=k.service_name,
                    taskDefinition=task_definition,
                    desiredCount=desired_count,
                    capacityProviderStrategy=[{"capacityProvider": provider, "weight": 1, "base": 0}],
                    deploymentConfiguration={
                        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                        "maximumPercent": 200,
                        "minimumHealthyPercent": 100,
                    },
                    networkConfiguration={
                        "awsvpcConfiguration": {
                            "subnets": list(k.subnet_ids),
                            "securityGroups": list(k.security_group_ids),
                            "assignPublicIp": "ENABLED" if k.assign_public_ip else "DISABLED",
                        }
                    },
                    loadBalancers=[
                        {
                            "targetGroupArn": k.target_group_arn,
                            "containerName": k.container_name,
                            "containerPort": k.container_port,
                        }
                    ],
                    healthCheckGracePeriodSeconds=60,
                    propagateTags="SERVICE",
                    enableECSManagedTags=True,
                    tags=[{"key": key, "value": v} for key, v in env_tags(k.environment).items()],
                )["service"]
            else:
                same = current.get("taskDefinition") == task_definition
                svc = self.c.ecs.update_service(
                    cluster=k.cluster_name,
                    service=k.service_name,
                    taskDefinition=task_definition,
                    desiredCount=desired_count,
                    forceNewDeployment=same,
                )["service"]
        primary = [d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"]
        return str((primary or svc["deployments"])[0]["id"])

    def deployment_outcome(self, k: Contract, deployment_id: str) -> DeploymentOutcome:
        """The outcome of *that* deployment: a circuit-breaker rollback is FAILED with the reason."""
        svc = self.describe_service(k.cluster_name, k.service_name)
        if svc is None or svc.get("status") != "ACTIVE":
            return DeploymentOutcome("FAILED", f"service {k.service_name} is gone")
        deployments = svc.get("deployments", [])
        mine = next((d for d in deployments if d.get("id") == deployment_id), None)
        if mine is None:
            primary: dict[str, Any] = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
            return DeploymentOutcome(
                "FAILED",
                f"deployment {deployment_id} was replaced by {primary.get('id', 'another deployment')} "
                f"(rolled back to {primary.get('taskDefinition', 'the previous revision')})",
            )
        state = str(mine.get("rolloutState") or "IN_PROGRESS")
        reason = str(mine.get("rolloutStateReason") or "")
        if state == "COMPLETED" and mine.get("status") != "PRIMARY":
            state, reason = "FAILED", f"deployment {deployment_id} completed but is no longer primary"
        return DeploymentOutcome(
            state,
            reason,
            running_count=int(mine.get("runningCount", 0)),
            desired_count=int(mine.get("desiredCount", 0)),
        )

    def healthy_targets(self, target_group_arn: str) -> int:
        with translated():
            health = self.c.elbv2.describe_target_health(TargetGroupArn=target_group_arn)
        return sum(
            1 for t in health.get("TargetHealthDescriptions", []) if t.get("TargetHealth", {}).get("State") == "healthy"
        )

    def scale_service(self, k: Contract, desired_count: int) -> bool:
        svc = self.describe_service(k.cluster_name, k.service_name)
        if svc is None or svc.get("status") != "ACTIVE":
            return False
        with translated():
            self.c.ecs.update_service(cluster=k.cluster_name, service=k.service_name, desiredCount=desired_count)
        return True

    def delete_service(self, k: Contract) -> bool:
        svc = self.describe_service(k.cluster_name, k.service_name)
        if svc is None or svc.get("status") == "INACTIVE":
            return False
        try:
            with translated():
                self.c.ecs.delete_service(cluster=k.cluster_name, service=k.service_name)
        except ClientError as exc:
            if is_not_found(exc, "ServiceNotFoundException", "ServiceNotActiveException"):
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

    def configure_autoscaling(self, k: Contract, min_count: int, max_count: int, cpu_target: int) -> None:
        with translated():
            self.c.autoscaling.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=self._resource_id(k),
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=min_count,
                MaxCapacity=max_count,
            )
            self.c.autoscaling.put_scaling_policy(
                PolicyName=f"{k.service_name}-cpu",
                ServiceNamespace="ecs",
                ResourceId=self._resource_id(k),
                ScalableDimension="ecs:service:DesiredCount",
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": float(cpu_target),
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                    "ScaleInCooldown": 120,
                    "ScaleOutCooldown": 60,
                },
            )

    def remove_autoscaling(self, k: Contract) -> bool:
        if self.scalable_target(k) is None:
            return False
        try:
            with translated():
                self.c.autoscaling.deregister_scalable_target(
                    ServiceNamespace="ecs",
                    ResourceId=self._resource_id(k),
                    ScalableDimension="ecs:service:DesiredCount",
                )
        except ClientError as exc:
            if not is_not_found(exc, "ObjectNotFoundException"):
                raise
            return False
        return True

    # teardown ---------------------------------------------------------------------------------------------------
    def active_task_definitions(self, family: str) -> list[str]:
        arns: list[str] = []
        with translated():
            for page in self.c.ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=family, status="ACTIVE"
            ):
                arns += [a for a in page.get("taskDefinitionArns", []) if _family(a) == family]
        return arns

    def deregister_task_definitions(self, family: str) -> int:
        """Deregister the family's ACTIVE revisions, then delete every INACTIVE one (so no tagged revision stays)."""
        count = 0
        for arn in self.active_task_definitions(family):
            try:
                with translated():
                    self.c.ecs.deregister_task_definition(taskDefinition=arn)
                count += 1
            except ClientError as exc:
                if error_code(exc) not in ("ClientException", "InvalidParameterException"):
                    raise
        inactive: list[str] = []
        with translated():
            for page in self.c.ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=family, status="INACTIVE"
            ):
                inactive += [a for a in page.get("taskDefinitionArns", []) if _family(a) == family]
            for start in range(0, len(inactive), 10):  # DeleteTaskDefinitions takes at most 10
                self.c.ecs.delete_task_definitions(taskDefinitions=inactive[start : start + 10])
        return count

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
        svc = self.describe_service(k.cluster_name, k.service_name)
        if svc is None or svc.get("status") == "INACTIVE":
            arns = [a for a in arns if not a.endswith(f"service/{k.cluster_name}/{k.service_name}")]
        return sorted(arns)

    def delete_images(self, repo: str) -> int:
        digests = sorted({str(i["imageDigest"]) for i in self.images(repo)})
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

    def delete_log_groups(self, names: list[str]) -> int:
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

    def inventory(self, k: Contract) -> Inventory:
        svc = self.describe_service(k.cluster_name, k.service_name)
        try:
            images = tuple(sorted({str(i["imageDigest"]) for i in self.images(k.ecr_repository_name)}))
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
            task_definitions=tuple(self.active_task_definitions(k.task_family)),
            images=images,
            log_groups=tuple(self.log_groups(k)),
        )


def _family(task_definition_arn: str) -> str:
    return task_definition_arn.split("/")[-1].rsplit(":", 1)[0]


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
