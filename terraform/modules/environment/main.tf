# One environment of the cart service: the base Terraform owns (docs/contract.md). The roots environments/<env>
# call this module with their row of the settings table and their backend; everything else lives here once.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "cart-service-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id

  # docs/contract.md "Names": the cluster is the e-commerce platform's, the service (created by the control plane)
  # and everything else the cart service's.
  cluster_name = "ecommerce-${var.environment}"
  service_name = local.name

  table_name           = "${local.name}-carts"
  image_project_name   = "${local.name}-image"
  artifact_bucket_name = "${local.name}-artifacts-${local.account_id}"
  runtime_log_prefix   = "/cart-service/${var.environment}/"

  s = var.settings

  # Who may publish to the notification topic: the control plane's roles unless told otherwise, and the pipeline
  # when its approval stage announces itself there (its role's name is fixed: modules/cicd).
  notification_publishers = concat(
    length(var.notification_publisher_arns) > 0 ? var.notification_publisher_arns : [
      "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:role/cart-controlplane-*",
    ],
    var.cicd.enabled && local.approval_required ? [
      "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:role/${local.name}-codepipeline",
    ] : [],
  )

  # Which branch deploys to which tier (README "CI/CD"): dev follows develop; staging and prod follow main, prod
  # behind a manual approval.
  default_branch    = { dev = "develop", staging = "main", prod = "main" }
  pipeline_branch   = coalesce(var.cicd.branch, local.default_branch[var.tier])
  approval_required = coalesce(var.cicd.approval, var.tier == "prod")

  # Where the control plane's builds take the source from (contract: build_source; CodeBuild's source types): the
  # pipeline's repository and branch, cloned through its connection.
  source_types = {
    GitHub                 = "GITHUB"
    GitHubEnterpriseServer = "GITHUB_ENTERPRISE"
    GitLab                 = "GITLAB"
    GitLabSelfManaged      = "GITLAB_SELF_MANAGED"
    Bitbucket              = "BITBUCKET"
  }
  clone_hosts = { GitHub = "https://github.com", GitLab = "https://gitlab.com", Bitbucket = "https://bitbucket.org" }
  build_source = var.cicd.enabled ? {
    type           = local.source_types[var.cicd.provider_type]
    location       = var.cicd.clone_url != "" ? var.cicd.clone_url : "${lookup(local.clone_hosts, var.cicd.provider_type, "")}/${var.cicd.repository_id}.git"
    branch         = local.pipeline_branch
    connection_arn = module.cicd.codestar_connection_arn
  } : null
}

module "kms" {
  source      = "../kms"
  name        = local.name
  environment = var.environment
}

module "vpc" {
  source                  = "../vpc"
  name                    = local.name
  environment             = var.environment
  cidr_block              = var.vpc_cidr
  az_count                = 2
  nat_gateway_mode        = local.s.nat_gateway
  flow_log_retention_days = local.s.log_retention_days
  kms_key_arn             = module.kms.key_arn
}

module "alb" {
  source              = "../alb"
  name                = local.name
  environment         = var.environment
  vpc_id              = module.vpc.vpc_id
  vpc_cidr_block      = module.vpc.vpc_cidr_block
  public_subnet_ids   = module.vpc.public_subnet_ids
  container_port      = var.container_port
  certificate_arn     = var.certificate_arn
  deletion_protection = local.s.deletion_protection
}

module "ecr" {
  source       = "../ecr"
  name         = local.name
  environment  = var.environment
  kms_key_arn  = module.kms.key_arn
  force_delete = !local.s.deletion_protection
  # dev: MUTABLE, so latest can be pushed again and again; staging and prod: IMMUTABLE (settings row)
  image_tag_mutability = local.s.image_tag_mutability
}

module "dynamodb" {
  source              = "../dynamodb"
  name                = local.name
  environment         = var.environment
  table_name          = local.table_name
  billing_mode        = local.s.dynamodb == "provisioned" ? "PROVISIONED" : "PAY_PER_REQUEST"
  autoscaling         = local.s.dynamodb == "provisioned" && local.s.autoscaling
  capacity            = var.dynamodb_capacity
  deletion_protection = local.s.deletion_protection
  kms_key_arn         = module.kms.key_arn
}

module "eventbridge" {
  source      = "../eventbridge"
  name        = local.name
  environment = var.environment
  kms_key_arn = module.kms.key_arn
}

module "ecs" {
  source                   = "../ecs"
  name                     = local.name
  cluster_name             = local.cluster_name
  environment              = var.environment
  vpc_id                   = module.vpc.vpc_id
  alb_security_group_id    = module.alb.security_group_id
  container_port           = var.container_port
  fargate_spot_weight      = local.s.fargate_spot ? 3 : 0
  ecr_repository_arn       = module.ecr.repository_arn
  data_table_arn           = module.dynamodb.table_arn
  event_bus_arn            = module.eventbridge.bus_arn
  kms_key_arn              = module.kms.key_arn
  runtime_log_group_prefix = local.runtime_log_prefix
  exec_log_retention_days  = local.s.log_retention_days
}

module "cloudwatch" {
  source                  = "../cloudwatch"
  name                    = local.name
  environment             = var.environment
  alb_arn_suffix          = module.alb.alb_arn_suffix
  target_group_arn_suffix = module.alb.target_group_arn_suffix
  cluster_name            = module.ecs.cluster_name
  service_name            = local.service_name
  dlq_name                = module.eventbridge.dlq_name
  kms_key_arn             = module.kms.key_arn
  alarm_email             = var.alarm_email
}

module "iam" {
  source               = "../iam"
  name                 = local.name
  environment          = var.environment
  ecr_repository_arn   = module.ecr.repository_arn
  artifact_bucket_name = local.artifact_bucket_name
  kms_key_arn          = module.kms.key_arn
}

module "cicd" {
  source                     = "../cicd"
  name                       = local.name
  environment                = var.environment
  enable_cicd                = var.cicd.enabled
  create_codestar_connection = var.cicd.create_connection
  codestar_provider_type     = var.cicd.provider_type
  repository_id              = var.cicd.repository_id
  codestar_connection_name   = var.cicd.connection_name
  codestar_host_arn          = var.cicd.host_arn
  codestar_connection_arn    = var.cicd.connection_arn
  branch                     = local.pipeline_branch
  controlplane_api_url       = var.cicd.controlplane_api_url
  controlplane_package       = var.cicd.controlplane_package
  approval_required          = local.approval_required
  approval_topic_arn         = aws_sns_topic.notifications.arn
  artifact_bucket_name       = local.artifact_bucket_name
  image_project_name         = local.image_project_name
  codebuild_role_arn         = module.iam.codebuild_role_arn
  codebuild_role_name        = module.iam.codebuild_role_name
  ecr_repository_url         = module.ecr.repository_url
  kms_key_arn                = module.kms.key_arn
  build_log_retention_days   = local.s.log_retention_days
}

# ---------------------------------------------------------------- notifications
# The control plane publishes the end of every operation of this environment (and the teardown reminder) here; it
# finds the topic in the contract (notification_topic_arn). Subscribe people or queues to it.

resource "aws_sns_topic" "notifications" {
  name              = "${local.name}-notifications"
  kms_master_key_id = module.kms.key_arn
}

data "aws_iam_policy_document" "notifications" {
  statement {
    sid       = "ControlPlanePublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = local.notification_publishers
    }
  }

  # Identity policies of the account could otherwise let anyone publish: only the publishers above may.
  statement {
    sid       = "OnlyThePublishers"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = local.notification_publishers
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish", "sns:Subscribe"]
    resources = [aws_sns_topic.notifications.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "notifications" {
  arn    = aws_sns_topic.notifications.arn
  policy = data.aws_iam_policy_document.notifications.json
}

module "contract" {
  source      = "../contract"
  environment = var.environment
  tier        = var.tier

  base = {
    cluster_name           = module.ecs.cluster_name
    service_name           = local.service_name
    task_family            = local.name
    container_name         = "cart"
    container_port         = var.container_port
    task_cpu               = local.s.task_cpu
    task_memory            = local.s.task_memory
    subnet_ids             = module.vpc.private_subnet_ids
    security_group_ids     = [module.ecs.task_security_group_id]
    assign_public_ip       = false
    target_group_arn       = module.alb.target_group_arn
    ecr_repository_name    = module.ecr.repository_name
    data_table_name        = module.dynamodb.table_name
    codebuild_project_name = module.cicd.image_project_name
    execution_role_arn     = module.ecs.execution_role_arn
    task_role_arn          = module.ecs.task_role_arn
    log_group_name         = "${local.runtime_log_prefix}app"
    log_retention_days     = local.s.log_retention_days
  }

  extra = {
    alarm_names                  = module.cloudwatch.rollback_alarm_names
    event_bus_name               = module.eventbridge.bus_name
    build_source_bucket          = module.cicd.artifact_bucket_name
    build_source_key             = "source/cart-service.zip"
    alb_dns_name                 = module.alb.alb_dns_name
    container_insights_log_group = module.ecs.container_insights_log_group
    notification_topic_arn       = aws_sns_topic.notifications.arn
    build_source                 = local.build_source
  }

  profile = {
    desired_count      = local.s.desired_count
    min_count          = local.s.min_count
    max_count          = local.s.max_count
    autoscaling        = local.s.autoscaling
    fargate_spot       = local.s.fargate_spot
    cpu_target_percent = local.s.cpu_target_percent
  }
}
