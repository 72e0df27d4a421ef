# CI/CD of one environment.
#  Always: the artifact bucket and the image CodeBuild project `cart-service-<env>-image` (the control plane's
#          build state machine starts it; contract: codebuild_project_name).
#  enable_cicd: a CodeStar connection (new, PENDING until authorized once in the console, or reused), and a V2
#          CodePipeline triggered by pushes to `branch`: Source -> Build (image built, tested, pushed to ECR) ->
#          [Approve (manual, approval_required)] -> HandOff (CodeBuild runs `cartctl deploy <env> --digest ... --wait`
#          against the control plane API with SigV4 and fails when the deploy does not succeed).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # AWS caps connection names at 32 characters. "" generates cart-service-<env>, or cart-<env> when that would not
  # fit (environment names are at most 21 characters, so cart-<env> always does). README "Connection name".
  generated_connection_name = length("cart-service-${var.environment}") <= 32 ? "cart-service-${var.environment}" : "cart-${var.environment}"
  connection_name           = var.codestar_connection_name != "" ? var.codestar_connection_name : local.generated_connection_name

  enterprise        = contains(["GitHubEnterpriseServer", "GitLabSelfManaged"], var.codestar_provider_type)
  create_connection = var.enable_cicd && var.create_codestar_connection
  reuse_connection  = var.enable_cicd && !var.create_codestar_connection
  connection_arn    = local.create_connection ? aws_codestarconnections_connection.this[0].arn : (local.reuse_connection ? var.codestar_connection_arn : null)
  connection_status = local.create_connection ? aws_codestarconnections_connection.this[0].connection_status : (local.reuse_connection ? data.aws_codestarconnections_connection.existing[0].connection_status : null)

  source_key = "source/cart-service.zip"

  # The control plane's API, from its URL https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/: the hand-off
  # role may invoke this environment's routes of that API only. Another URL form (a custom domain) or none yet:
  # any API id and stage of this account and region, still only these routes.
  api_url_parts = try(regex("^https://([a-z0-9]+)\\.execute-api\\.[a-z0-9-]+\\.amazonaws\\.com(?:\\.cn)?/([^/]+)", var.controlplane_api_url), ["*", "*"])
  api_routes    = "arn:${local.partition}:execute-api:${local.region}:${local.account_id}:${local.api_url_parts[0]}/${local.api_url_parts[1]}"

  # pip requirement of the control plane's package (it installs cartctl); s3://bucket/key is copied first.
  package_from_s3 = startswith(var.controlplane_package, "s3://")
  package_object  = local.package_from_s3 ? "arn:${local.partition}:s3:::${trimprefix(var.controlplane_package, "s3://")}" : null
}

# ---------------------------------------------------------------- artifact bucket

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_18:Build inputs and pipeline artifacts are transient (30-day expiry); CloudTrail data events audit access if needed.
  #checkov:skip=CKV_AWS_144:Transient build artifacts are not replicated across regions.
  #checkov:skip=CKV2_AWS_62:No consumer for object notifications; CodePipeline and CodeBuild read the objects directly.
  bucket = var.artifact_bucket_name
  # Build artifacts are disposable: destroying the environment empties the bucket.
  force_destroy = true
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "expire-artifacts"
    status = "Enabled"
    filter {}

    expiration {
      days = 30
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.artifacts]
}

data "aws_iam_policy_document" "artifacts" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.artifacts.arn,
      "${aws_s3_bucket.artifacts.arn}/*",
    ]
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

resource "aws_s3_bucket_policy" "artifacts" {
  bucket     = aws_s3_bucket.artifacts.id
  policy     = data.aws_iam_policy_document.artifacts.json
  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

# ---------------------------------------------------------------- image project (always)

resource "aws_cloudwatch_log_group" "image" {
  #checkov:skip=CKV_AWS_338:Retention is an environment setting (build_log_retention_days).
  name              = "/aws/codebuild/${var.image_project_name}"
  retention_in_days = var.build_log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_codebuild_project" "image" {
  #checkov:skip=CKV_AWS_316:Privileged mode is required to run docker build inside CodeBuild.
  name           = var.image_project_name
  description    = "Builds, tests and pushes the cart image of ${var.environment}; started by the control plane (IMAGE_TAG and source location overridden per build)."
  service_role   = var.codebuild_role_arn
  build_timeout  = var.build_timeout_minutes
  encryption_key = var.kms_key_arn

  source {
    type      = "S3"
    location  = "${aws_s3_bucket.artifacts.bucket}/${local.source_key}"
    buildspec = file("${path.module}/buildspecs/image.yml")
  }

  artifacts {
    type = "NO_ARTIFACTS"
  }

  environment {
    compute_type    = "BUILD_GENERAL1_SMALL"
    image           = var.build_image
    type            = "LINUX_CONTAINER"
    privileged_mode = true

    environment_variable {
      name  = "REPOSITORY_URI"
      value = var.ecr_repository_url
    }
    environment_variable {
      name  = "ENVIRONMENT"
      value = var.environment
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.image.name
      status     = "ENABLED"
    }
  }

  tags = var.tags
}

# ---------------------------------------------------------------- connection (enable_cicd)

resource "aws_codestarconnections_connection" "this" {
  count         = local.create_connection ? 1 : 0
  name          = local.connection_name
  provider_type = local.enterprise ? null : var.codestar_provider_type
  host_arn      = local.enterprise ? var.codestar_host_arn : null
  tags          = var.tags
}

data "aws_codestarconnections_connection" "existing" {
  count = local.reuse_connection ? 1 : 0
  arn   = var.codestar_connection_arn
}

# The image project builds from the contract's build_source (the repository behind this connection) when the control
# plane starts it: its role uses the connection, under both service prefixes (CodeStar Connections was renamed
# CodeConnections; a connection answers to both). GetConnectionToken and GetConnection are what CodeBuild calls for
# a connection source: https://docs.aws.amazon.com/codebuild/latest/userguide/connections-github-app.html
# (UseConnection: https://docs.aws.amazon.com/dtconsole/latest/userguide/security_iam_id-based-policy-examples-connections.html).
locals {
  codebuild_connection_policy = var.enable_cicd ? jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "CloneThroughTheConnection"
      Effect = "Allow"
      Action = [
        "codeconnections:UseConnection", "codeconnections:GetConnectionToken", "codeconnections:GetConnection",
        "codestar-connections:UseConnection", "codestar-connections:GetConnectionToken", "codestar-connections:GetConnection",
      ]
      Resource = distinct([
        replace(local.connection_arn, ":codestar-connections:", ":codeconnections:"),
        replace(local.connection_arn, ":codeconnections:", ":codestar-connections:"),
      ])
    }]
  }) : null
}

resource "aws_iam_role_policy" "codebuild_connection" {
  count  = var.enable_cicd && var.codebuild_role_name != "" ? 1 : 0
  name   = "clone-through-the-connection"
  role   = var.codebuild_role_name
  policy = local.codebuild_connection_policy
}

# ---------------------------------------------------------------- pipeline (enable_cicd)

resource "aws_cloudwatch_log_group" "pipeline" {
  #checkov:skip=CKV_AWS_338:Retention is an environment setting (build_log_retention_days).
  for_each          = var.enable_cicd ? toset(["build", "handoff"]) : toset([])
  name              = "/aws/codebuild/${var.name}-pipeline-${each.key}"
  retention_in_days = var.build_log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_codebuild_project" "pipeline_build" {
  #checkov:skip=CKV_AWS_316:Privileged mode is required to run docker build inside CodeBuild.
  count          = var.enable_cicd ? 1 : 0
  name           = "${var.name}-pipeline-build"
  description    = "Pipeline stage Build of ${var.environment}: build the cart image, run the tests, push to ECR."
  service_role   = var.codebuild_role_arn
  build_timeout  = var.build_timeout_minutes
  encryption_key = var.kms_key_arn

  source {
    type      = "CODEPIPELINE"
    buildspec = file("${path.module}/buildspecs/image.yml")
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type    = "BUILD_GENERAL1_SMALL"
    image           = var.build_image
    type            = "LINUX_CONTAINER"
    privileged_mode = true

    environment_variable {
      name  = "REPOSITORY_URI"
      value = var.ecr_repository_url
    }
    environment_variable {
      name  = "ENVIRONMENT"
      value = var.environment
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.pipeline["build"].name
      status     = "ENABLED"
    }
  }

  tags = var.tags
}

resource "aws_codebuild_project" "handoff" {
  count          = var.enable_cicd ? 1 : 0
  name           = "${var.name}-pipeline-handoff"
  description    = "Pipeline stage HandOff of ${var.environment}: cartctl deploy ${var.environment} --digest <pushed> --wait (SigV4); fails unless the deploy succeeds."
  service_role   = aws_iam_role.handoff[0].arn
  build_timeout  = var.handoff_timeout_minutes
  encryption_key = var.kms_key_arn

  source {
    type      = "CODEPIPELINE"
    buildspec = file("${path.module}/buildspecs/handoff.yml")
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type = "BUILD_GENERAL1_SMALL"
    image        = var.build_image
    type         = "LINUX_CONTAINER"

    environment_variable {
      name  = "CARTCTL_ENDPOINT"
      value = var.controlplane_api_url
    }
    environment_variable {
      name  = "CONTROLPLANE_PACKAGE"
      value = var.controlplane_package
    }
    environment_variable {
      name  = "ENVIRONMENT"
      value = var.environment
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.pipeline["handoff"].name
      status     = "ENABLED"
    }
  }

  tags = var.tags
}

# The hand-off has its own role: it reads the Build stage's output and may call this environment's deployment and
# operation routes of the control plane's API, nothing else (no ECR, no ECS, no other environment).
data "aws_iam_policy_document" "handoff_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codebuild.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:codebuild:${local.region}:${local.account_id}:project/${var.name}-pipeline-handoff"]
    }
  }
}

resource "aws_iam_role" "handoff" {
  count              = var.enable_cicd ? 1 : 0
  name               = "${var.name}-pipeline-handoff"
  description        = "Pipeline HandOff of ${var.environment}: deploy the pushed digest through the control plane API and wait for it."
  assume_role_policy = data.aws_iam_policy_document.handoff_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "handoff" {
  count = var.enable_cicd ? 1 : 0

  statement {
    sid       = "BuildLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.pipeline["handoff"].arn}:*"]
  }

  statement {
    sid       = "PipelineArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }

  statement {
    sid       = "EnvironmentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid     = "DeployThisEnvironmentAndFollowIt"
    actions = ["execute-api:Invoke"]
    resources = [
      "${local.api_routes}/POST/environments/${var.environment}/deployments",
      "${local.api_routes}/GET/environments/${var.environment}/operations",
      # operation ids carry their environment: <kind>_<env>_<unique> (modules/operator_roles README, "Cancelling")
      "${local.api_routes}/GET/operations/*_${var.environment}_*",
    ]
  }

  dynamic "statement" {
    for_each = local.package_from_s3 ? [local.package_object] : []
    content {
      sid       = "ControlPlanePackage"
      actions   = ["s3:GetObject"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "handoff" {
  count  = var.enable_cicd ? 1 : 0
  name   = "deploy-through-the-control-plane"
  role   = aws_iam_role.handoff[0].id
  policy = data.aws_iam_policy_document.handoff[0].json
}

data "aws_iam_policy_document" "pipeline_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codepipeline.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:codepipeline:${local.region}:${local.account_id}:${var.name}"]
    }
  }
}

resource "aws_iam_role" "pipeline" {
  count              = var.enable_cicd ? 1 : 0
  name               = "${var.name}-codepipeline"
  description        = "CodePipeline ${var.name}: source via the CodeStar connection, run the build and hand-off projects."
  assume_role_policy = data.aws_iam_policy_document.pipeline_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "pipeline" {
  count = var.enable_cicd ? 1 : 0

  statement {
    sid     = "UseTheConnection"
    actions = ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
    # A connection answers to both service prefixes (CodeStar Connections was renamed CodeConnections).
    resources = distinct([
      local.connection_arn,
      replace(local.connection_arn, ":codestar-connections:", ":codeconnections:"),
      replace(local.connection_arn, ":codeconnections:", ":codestar-connections:"),
    ])
  }

  statement {
    sid       = "Artifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }

  statement {
    sid       = "ArtifactBucket"
    actions   = ["s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
  }

  statement {
    sid       = "RunTheStages"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
    resources = [aws_codebuild_project.pipeline_build[0].arn, aws_codebuild_project.handoff[0].arn]
  }

  statement {
    sid       = "EnvironmentKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.approval_required && var.approval_topic_arn != "" ? [var.approval_topic_arn] : []
    content {
      sid       = "AnnounceTheApproval"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "pipeline" {
  count  = var.enable_cicd ? 1 : 0
  name   = "run-pipeline"
  role   = aws_iam_role.pipeline[0].id
  policy = data.aws_iam_policy_document.pipeline[0].json
}

resource "aws_codepipeline" "this" {
  count         = var.enable_cicd ? 1 : 0
  name          = var.name
  role_arn      = aws_iam_role.pipeline[0].arn
  pipeline_type = "V2"

  artifact_store {
    location = aws_s3_bucket.artifacts.bucket
    type     = "S3"
    encryption_key {
      id   = var.kms_key_arn
      type = "KMS"
    }
  }

  trigger {
    provider_type = "CodeStarSourceConnection"
    git_configuration {
      source_action_name = "Source"
      push {
        branches {
          includes = [var.branch]
        }
      }
    }
  }

  stage {
    name = "Source"
    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = "CodeStarSourceConnection"
      version          = "1"
      output_artifacts = ["SourceOutput"]
      configuration = {
        ConnectionArn        = local.connection_arn
        FullRepositoryId     = var.repository_id
        BranchName           = var.branch
        DetectChanges        = "true"
        OutputArtifactFormat = "CODE_ZIP"
      }
    }
  }

  stage {
    name = "Build"
    action {
      name             = "BuildTestPush"
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      input_artifacts  = ["SourceOutput"]
      output_artifacts = ["BuildOutput"]
      configuration = {
        ProjectName = aws_codebuild_project.pipeline_build[0].name
      }
    }
  }

  # A person approves before anything is deployed (prod by default): approvers need
  # codepipeline:PutApprovalResult on <pipeline ARN>/Approve/ApproveDeploy.
  dynamic "stage" {
    for_each = var.approval_required ? [1] : []
    content {
      name = "Approve"
      action {
        name     = "ApproveDeploy"
        category = "Approval"
        owner    = "AWS"
        provider = "Manual"
        version  = "1"
        configuration = merge(
          { CustomData = "Deploy the image just built from ${var.repository_id}@${var.branch} to ${var.environment}?" },
          var.approval_topic_arn != "" ? { NotificationArn = var.approval_topic_arn } : {},
        )
      }
    }
  }

  stage {
    name = "HandOff"
    action {
      name            = "DeployViaControlPlane"
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["SourceOutput", "BuildOutput"]
      configuration = {
        ProjectName   = aws_codebuild_project.handoff[0].name
        PrimarySource = "SourceOutput"
      }
    }
  }

  tags = var.tags
}
