# The pipeline and its hand-off (mocked provider): stages per tier, the hand-off's own role limited to this
# environment's routes of the control plane's API, and cartctl in the buildspec.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                 = "cart-service-dev"
  environment          = "dev"
  artifact_bucket_name = "cart-service-dev-artifacts-123456789012"
  image_project_name   = "cart-service-dev-image"
  codebuild_role_arn   = "arn:aws:iam::123456789012:role/cart-service-dev-codebuild"
  ecr_repository_url   = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/cart-service-dev"
  kms_key_arn          = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  enable_cicd          = true
  repository_id        = "example-org/cart-service"
  controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
  controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
}

run "dev_pipeline_hands_off_with_cartctl" {
  command = apply

  assert {
    condition     = [for s in aws_codepipeline.this[0].stage : s.name] == ["Source", "Build", "HandOff"]
    error_message = "Without approval: Source -> Build -> HandOff."
  }

  assert {
    condition     = aws_codepipeline.this[0].trigger[0].git_configuration[0].push[0].branches[0].includes == tolist(["develop"])
    error_message = "The trigger follows the branch."
  }

  assert {
    condition     = aws_codebuild_project.handoff[0].service_role == aws_iam_role.handoff[0].arn && aws_codebuild_project.handoff[0].service_role != var.codebuild_role_arn
    error_message = "The hand-off runs with its own role, not the image builders'."
  }

  assert {
    condition = (
      strcontains(aws_codebuild_project.handoff[0].source[0].buildspec, "cartctl deploy \"$ENVIRONMENT\" --digest \"$digest\" --wait") &&
      strcontains(aws_codebuild_project.handoff[0].source[0].buildspec, "pip install") &&
      !strcontains(aws_codebuild_project.handoff[0].source[0].buildspec, "pipeline_handoff")
    )
    error_message = "The hand-off installs the control plane's package and waits for the deploy with cartctl."
  }

  assert {
    condition = {
      for v in aws_codebuild_project.handoff[0].environment[0].environment_variable : v.name => v.value
      } == {
      CARTCTL_ENDPOINT     = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      CONTROLPLANE_PACKAGE = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
      ENVIRONMENT          = "dev"
    }
    error_message = "cartctl gets the API URL (CARTCTL_ENDPOINT), the package and the environment."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.handoff[0].statement : s.resources if contains(s.actions, "execute-api:Invoke")])) == toset([
      "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/api/POST/environments/dev/deployments",
      "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/api/GET/environments/dev/operations",
      "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/api/GET/operations/*_dev_*",
    ])
    error_message = "The hand-off may invoke this environment's deployments and operations routes of this API only."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.handoff[0].statement : !anytrue([for a in s.actions : startswith(a, "ecs:") || startswith(a, "ecr:")])])
    error_message = "The hand-off never touches ECS or ECR itself."
  }

  assert {
    condition     = aws_codebuild_project.handoff[0].build_timeout == 60
    error_message = "The hand-off waits for the deploy: its timeout covers the control plane's."
  }
}

run "prod_pipeline_waits_for_a_person" {
  command = apply

  variables {
    name                 = "cart-service-prod"
    environment          = "prod"
    artifact_bucket_name = "cart-service-prod-artifacts-123456789012"
    branch               = "main"
    approval_required    = true
    approval_topic_arn   = "arn:aws:sns:eu-central-1:123456789012:cart-service-prod-notifications"
  }

  assert {
    condition     = [for s in aws_codepipeline.this[0].stage : s.name] == ["Source", "Build", "Approve", "HandOff"]
    error_message = "prod: a manual approval before the hand-off."
  }

  assert {
    condition = one([for s in aws_codepipeline.this[0].stage : s.action[0] if s.name == "Approve"]).provider == "Manual" && one([
      for s in aws_codepipeline.this[0].stage : s.action[0] if s.name == "Approve"
    ]).configuration.NotificationArn == "arn:aws:sns:eu-central-1:123456789012:cart-service-prod-notifications"
    error_message = "The approval is manual and announced on the environment's topic."
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.pipeline[0].statement : contains(s.actions, "sns:Publish") && contains(s.resources, var.approval_topic_arn)])
    error_message = "The pipeline may announce the approval."
  }

  assert {
    condition     = aws_codepipeline.this[0].trigger[0].git_configuration[0].push[0].branches[0].includes == tolist(["main"])
    error_message = "prod follows main."
  }
}

run "package_from_s3_is_readable_exactly" {
  command = plan

  variables {
    controlplane_package = "s3://example-packages/cart-controlplane/cart_controlplane-1.0.0-py3-none-any.whl"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.handoff[0].statement : s.resources if s.sid == "ControlPlanePackage"]) == toset(["arn:aws:s3:::example-packages/cart-controlplane/cart_controlplane-1.0.0-py3-none-any.whl"])
    error_message = "An s3:// package: the hand-off may read that object only."
  }
}

run "custom_domain_keeps_the_routes" {
  command = plan

  variables {
    controlplane_api_url = "https://controlplane.example.com/"
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.handoff[0].statement : s.resources if contains(s.actions, "execute-api:Invoke")]), "arn:aws:execute-api:eu-central-1:123456789012:*/*/POST/environments/dev/deployments")
    error_message = "An API URL without the API id still limits the hand-off to this environment's routes."
  }
}

run "cicd_needs_the_package" {
  command = plan

  variables {
    controlplane_package = ""
  }

  expect_failures = [var.controlplane_package]
}

run "no_pipeline_without_cicd" {
  command = plan

  variables {
    enable_cicd          = false
    controlplane_api_url = ""
    controlplane_package = ""
  }

  assert {
    condition     = length(aws_codepipeline.this) == 0 && length(aws_iam_role.handoff) == 0 && output.handoff_role_arn == null
    error_message = "No pipeline, no hand-off role without CI/CD."
  }
}
