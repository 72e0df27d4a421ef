"""Create, through the AWS APIs, what Terraform creates: the state backend, each environment's base and its
published contract, and the control plane's own deployment (registry table, Lambdas, state machines)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.asl import machines
from controlplane.aws.platform import env_tags
from controlplane.domain.contract import BuildSource, Contract, contract_parameter_name, tier_profile
from controlplane.store.dynamodb import create_registry_table

ROOT = Path(__file__).resolve().parents[2]
STATEMACHINES = ROOT / "statemachines"
ClientFactory = Callable[[str], Any]
# What Terraform's environments set per tier (the settings rows of terraform/environments/*/main.tf);
# tests/terraform/test_sandbox_parity.py compares every attribute the two share.
REPOSITORY_MUTABILITY = {"dev": "MUTABLE", "staging": "IMMUTABLE", "prod": "IMMUTABLE"}
TASK_SIZE = {"dev": ("256", "512"), "staging": ("256", "512"), "prod": ("512", "1024")}  # cpu, memory
LOG_RETENTION_DAYS = {"dev": 14, "staging": 30, "prod": 365}
ALARMS = ("target-5xx", "unhealthy-hosts", "p95-latency")  # the rollback alarms (contract: alarm_names)


def capacity_strategy(fargate_spot: bool) -> list[dict[str, Any]]:
    """The cluster's default capacity provider strategy, as modules/ecs sets it."""
    strategy: list[dict[str, Any]] = [{"capacityProvider": "FARGATE", "base": 1, "weight": 0 if fargate_spot else 1}]
    if fargate_spot:
        strategy.append({"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3})
    return strategy


def cluster_name(env: str) -> str:
    return f"ecommerce-{env}"


def terraform_tags(env: str) -> list[dict[str, str]]:
    return [{"Key": "cart:environment", "Value": env}, {"Key": "cart:managed-by", "Value": "terraform"}]


@dataclass(frozen=True)
class Backend:
    bucket: str
    lock_table: str


def seed_backend(make: ClientFactory, account: str, environments: Iterable[str]) -> Backend:
    s3, ddb = make("s3"), make("dynamodb")
    bucket, table = f"cart-service-tfstate-{account}", "cart-service-tfstate-lock"
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
    )
    for env in environments:
        state = {
            "version": 4,
            "terraform_version": "1.11.4",
            "serial": 1,
            "lineage": f"sandbox-{env}",
            "outputs": {},
            "resources": [],
        }
        s3.put_object(Bucket=bucket, Key=f"environments/{env}/terraform.tfstate", Body=json.dumps(state).encode())
    return Backend(bucket=bucket, lock_table=table)


def seed_environment(make: ClientFactory, env: str, tier: str, cidr_index: int, contract_prefix: str) -> Contract:
    """One environment's base, named as in docs/contract.md, and its published contract."""
    ec2, elbv2, ecs, ecr, ddb, iam, cb, ssm, cw = (
        make(s) for s in ("ec2", "elbv2", "ecs", "ecr", "dynamodb", "iam", "codebuild", "ssm", "cloudwatch")
    )
    name = f"cart-service-{env}"
    tags = terraform_tags(env)
    vpc = ec2.create_vpc(
        CidrBlock=f"10.{cidr_index}.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [*tags, {"Key": "Name", "Value": name}]}],
    )["Vpc"]["VpcId"]
    # as terraform/modules/vpc sets them (ECS tasks' network interfaces get private DNS names)
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=f"10.{cidr_index}.{i}.0/24",
            AvailabilityZone=az,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}],
        )["Subnet"]["SubnetId"]
        for i, az in enumerate(azs)
    ]
    sg = ec2.create_security_group(
        GroupName=f"{name}-tasks",
        Description="Cart Service tasks",
        VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
    )["GroupId"]
    alb = elbv2.create_load_balancer(Name=f"cart-{env}-alb", Subnets=subnets, SecurityGroups=[sg], Tags=tags)
    alb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(
        Name=f"cart-{env}-tg",
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/health",
        Tags=tags,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=alb_arn, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
    )
    ecs.create_cluster(
        clusterName=cluster_name(env),
        settings=[{"name": "containerInsights", "value": "enabled"}],
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=capacity_strategy(tier_profile(tier).fargate_spot),
        tags=[{"key": t["Key"], "value": t["Value"]} for t in tags],
    )
    repo = ecr.create_repository(
        repositoryName=name,
        imageScanningConfiguration={"scanOnPush": True},
        imageTagMutability=REPOSITORY_MUTABILITY.get(tier, "IMMUTABLE"),
        tags=tags,
    )["repository"]
    alarms = [f"{name}-{a}" for a in ALARMS]
    for alarm in alarms:
        cw.put_metric_alarm(
            AlarmName=alarm,
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=3,
            Threshold=10,
            ComparisonOperator="GreaterThanThreshold",
            Tags=tags,
        )
    ddb.create_table(
        TableName=f"{name}-carts",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "cart_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "cart_id", "KeyType": "HASH"}],
        Tags=tags,
    )
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    execution_role = iam.create_role(RoleName=f"{name}-task-execution", AssumeRolePolicyDocument=trust, Tags=tags)
    task_role = iam.create_role(RoleName=f"{name}-task", AssumeRolePolicyDocument=trust, Tags=tags)
    cb_trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    cb_role = iam.create_role(RoleName=f"{name}-codebuild", AssumeRolePolicyDocument=cb_trust, Tags=tags)
    cb.create_project(
        name=f"{name}-image",
        source={"type": "NO_SOURCE", "location": "n/a", "buildspec": "buildspec.yml"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "privilegedMode": True,
            "environmentVariables": [{"name": "ECR_REPOSITORY", "value": name, "type": "PLAINTEXT"}],
        },
        serviceRole=cb_role["Role"]["Arn"],
        tags=[{"key": t["Key"], "value": t["Value"]} for t in tags],
    )
    dns = elbv2.describe_load_balancers(LoadBalancerArns=[alb_arn])["LoadBalancers"][0]["DNSName"]
    sns, sqs = make("sns"), make("sqs")
    topic = sns.create_topic(Name=f"{name}-notifications", Tags=tags)["TopicArn"]
    contract = Contract(
        environment=env,
        tier=tier,
        cluster_name=cluster_name(env),
        service_name=name,
        task_family=name,
        container_name="cart",
        container_port=8080,
        task_cpu=TASK_SIZE.get(tier, TASK_SIZE["dev"])[0],
        task_memory=TASK_SIZE.get(tier, TASK_SIZE["dev"])[1],
        subnet_ids=tuple(subnets),
        security_group_ids=(sg,),
        assign_public_ip=False,
        target_group_arn=tg,
        ecr_repository_name=repo["repositoryName"],
        data_table_name=f"{name}-carts",
        codebuild_project_name=f"{name}-image",
        execution_role_arn=execution_role["Role"]["Arn"],
        task_role_arn=task_role["Role"]["Arn"],
        log_group_name=f"/cart-service/{env}/app",
        log_retention_days=LOG_RETENTION_DAYS.get(tier, 14),
        profile=tier_profile(tier),
        alarm_names=tuple(alarms),
        build_source=BuildSource("GITHUB", "https://github.com/example/cart-service.git", "develop"),
        alb_dns_name=dns,
        notification_topic_arn=topic,
        insights_log_group=f"/aws/ecs/containerinsights/{cluster_name(env)}/performance",
    )
    # an inbox queue subscribed to the notification topic (read it with sqs receive-message)
    inbox = sqs.create_queue(QueueName=f"{name}-notifications-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    ssm.put_parameter(
        Name=contract_parameter_name(contract_prefix, env),
        Type="String",
        Value=contract.to_json(),
        Tags=tags,
        Description=f"Control plane contract for {env} (published by Terraform)",
    )
    return contract


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("README", "Code runs in-process in the sandbox (see controlplane/sandbox/emulation.py).\n")
    return buf.getvalue()


def lambda_handlers() -> dict[str, str]:
    """Function name -> handler string, exactly as the Chalice app registers them (steps, event handlers and
    schedules; the API is served by the sandbox itself)."""
    import app as chalice_app

    return {f.name: f.handler_string for f in chalice_app.app.pure_lambda_functions}


def asl_definition(name: str, function_prefix: str) -> str:
    return (STATEMACHINES / f"{name}.asl.json").read_text().replace("${function_prefix}", function_prefix)


def seed_controlplane(make: ClientFactory, stage: str, registry_table: str, env_vars: dict[str, str]) -> dict[str, str]:
    """Deploy the control plane: registry table, one Lambda per step, one state machine per kind."""
    ddb, iam, lam, sfn = make("dynamodb"), make("iam"), make("lambda"), make("stepfunctions")
    create_registry_table(ddb, registry_table)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    role = iam.create_role(RoleName=f"cart-controlplane-{stage}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    environments = tuple(e for e in env_vars.get("CONTROLPLANE_ENVIRONMENTS", "").split(",") if e)
    if environments:  # the one policy Terraform attaches to the functions' role, rendered from the same template
        from controlplane.sandbox.iam import PolicyInputs, render_policy

        account = role.split(":")[4]
        region = make("sts").meta.region_name
        policy = render_policy(PolicyInputs(stage, environments, account, region))
        iam.put_role_policy(
            RoleName=f"cart-controlplane-{stage}", PolicyName="controlplane", PolicyDocument=json.dumps(policy)
        )
    prefix = f"cart-controlplane-{stage}-"
    code = _zip()
    for function, handler in lambda_handlers().items():
        lam.create_function(
            FunctionName=prefix + function,
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=300,
            Environment={"Variables": env_vars},
            Tags={"cart:managed-by": "controlplane"},
        )
    arns = {}
    for machine in machines():
        arns[machine] = sfn.create_state_machine(
            name=f"{prefix}{machine}",
            definition=asl_definition(machine, prefix),
            roleArn=role,
            type="STANDARD",
        )["stateMachineArn"]
    return arns


__all__ = ["Backend", "cluster_name", "env_tags", "seed_backend", "seed_controlplane", "seed_environment"]


SEED_TIERS = {"dev": "dev", "staging": "staging", "prod": "prod"}


SANDBOX_STAGE = "sandbox"  # the control plane's stage in the sandbox: functions cart-controlplane-sandbox-*


@dataclass(frozen=True)
class World:
    """Everything the sandbox created, and the settings the control plane runs with inside it."""

    account: str
    region: str
    stage: str
    backend: Backend
    contracts: dict[str, Contract]
    state_machines: dict[str, str]
    env_vars: dict[str, str]

    @property
    def function_prefix(self) -> str:
        return f"cart-controlplane-{self.stage}-"


def seed_all(
    make: ClientFactory,
    region: str,
    stage: str = SANDBOX_STAGE,
    environments: dict[str, str] | None = None,
    wait_interval: int = 1,
    wait_timeout: int = 300,
) -> World:
    envs = environments if environments is not None else SEED_TIERS
    account = make("sts").get_caller_identity()["Account"]
    backend = seed_backend(make, account, envs)
    contracts = {
        env: seed_environment(make, env, tier, i + 1, "/cart-service") for i, (env, tier) in enumerate(envs.items())
    }
    env_vars = {
        "CONTROLPLANE_STAGE": stage,
        # the stage manages the seeded environments, as Terraform declares a stage's (its IAM policy's scope)
        "CONTROLPLANE_ENVIRONMENTS": ",".join(envs),
        "REGISTRY_TABLE": f"cart-controlplane-{stage}-registry",
        "STATE_MACHINE_PREFIX": f"arn:aws:states:{region}:{account}:stateMachine:cart-controlplane-{stage}-",
        "CONTRACT_PARAMETER_PREFIX": "/cart-service",
        "WAIT_INTERVAL_SECONDS": str(wait_interval),
        "WAIT_TIMEOUT_SECONDS": str(wait_timeout),
    }
    arns = seed_controlplane(make, stage, env_vars["REGISTRY_TABLE"], env_vars)
    return World(account, region, stage, backend, contracts, arns, env_vars)
