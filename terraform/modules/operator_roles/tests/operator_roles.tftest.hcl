# Operator roles (mocked provider). tests/terraform/test_operator_roles.py reads the policies this file's apply run
# renders and evaluates every (method, path) of the API against them.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name_prefix       = "cart-operator-dev"
  api_execution_arn = "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5"
}

run "roles_and_policies" {
  command = apply

  assert {
    condition     = toset(keys(aws_iam_role.this)) == toset(["dev-deployer", "staging-operator", "prod-operator", "readonly"])
    error_message = "One role per tier plus readonly."
  }

  assert {
    condition     = aws_iam_role.this["prod-operator"].name == "cart-operator-dev-prod-operator"
    error_message = "Roles are named <name_prefix>-<role>."
  }

  assert {
    condition = alltrue([for k, r in aws_iam_role.this :
      jsondecode(r.assume_role_policy).Statement[0].Condition.Bool["aws:MultiFactorAuthPresent"] == "true" &&
      jsondecode(r.assume_role_policy).Statement[0].Principal.AWS == ["arn:aws:iam::123456789012:root"]
    ])
    error_message = "By default every role trusts its own account, with MFA."
  }

  assert {
    condition     = alltrue([for k, p in aws_iam_role_policy.this : p.policy == output.policies[k]])
    error_message = "The attached policies are the ones the module outputs."
  }

  assert {
    condition = (
      contains(jsondecode(output.policies["dev-deployer"]).Statement[1].Resource, "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/api/POST/environments/dev/destroy") &&
      jsondecode(output.policies["dev-deployer"]).Statement[2].Effect == "Deny" &&
      contains(jsondecode(output.policies["dev-deployer"]).Statement[2].Resource, "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/api/POST/environments/prod/destroy")
    )
    error_message = "dev-deployer may destroy dev and is explicitly denied destroying prod."
  }

  assert {
    condition     = length(jsondecode(output.policies["readonly"]).Statement) == 1 && jsondecode(output.policies["readonly"]).Statement[0].Resource == ["arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/api/GET/*"]
    error_message = "readonly may only GET."
  }
}

run "automation_uses_an_external_id_and_explicit_principals" {
  command = plan

  variables {
    trusted_principals = { "dev-deployer" = ["arn:aws:iam::210987654321:role/ci-runner"] }
    external_ids       = { "dev-deployer" = "cart-ci-7f3a" }
  }

  assert {
    condition = (
      jsondecode(output.trust_policies["dev-deployer"]).Statement[0].Principal.AWS == ["arn:aws:iam::210987654321:role/ci-runner"] &&
      jsondecode(output.trust_policies["dev-deployer"]).Statement[0].Condition.StringEquals["sts:ExternalId"] == "cart-ci-7f3a" &&
      jsondecode(output.trust_policies["prod-operator"]).Statement[0].Condition.Bool["aws:MultiFactorAuthPresent"] == "true"
    )
    error_message = "A role with an external id trusts its principals on that id; the others keep MFA."
  }
}

run "disabled_creates_nothing" {
  command = plan

  variables {
    enabled = false
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && output.role_arns == {}
    error_message = "enabled = false creates no role."
  }
}

run "a_tier_cannot_share_an_environment" {
  command = plan

  variables {
    dev_environments = ["dev", "prod"]
  }

  expect_failures = [var.dev_environments]
}

run "trust_needs_real_principals" {
  command = plan

  variables {
    trusted_principals = { "prod-operator" = ["arn:aws:iam::123456789012:role/*"] }
  }

  expect_failures = [var.trusted_principals]
}

run "prefix_must_not_look_like_the_control_plane" {
  command = plan

  variables {
    name_prefix = "cart-controlplane-dev"
  }

  expect_failures = [var.name_prefix]
}
