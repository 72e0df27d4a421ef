# Who may act on which environment through the control plane's API (IAM auth, SigV4): one role per tier, each
# allowed execute-api:Invoke on exactly the method/path ARNs of its environments,
#   arn:<partition>:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>
# README.md lists the routes and what each role may do. Policies are built with jsonencode so that the documents
# can be read (and evaluated by tests/terraform/test_operator_roles.py) before anything is applied.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # arn:...:<api-id>/<stage>/  -> + "<METHOD>/<path without the leading slash>"
  api = "${var.api_execution_arn}/${var.api_stage}/"

  # Every route that changes an environment, for environment e (the API's routes, docs in README.md).
  env_routes = {
    for e in distinct(concat(var.dev_environments, var.staging_environments, var.prod_environments)) : e => [
      "${local.api}PUT/environments/${e}",
      "${local.api}POST/environments/${e}/provision",
      "${local.api}POST/environments/${e}/builds",
      "${local.api}POST/environments/${e}/deployments",
      "${local.api}POST/environments/${e}/destroy",
      "${local.api}POST/environments/${e}/keep-alive",
      "${local.api}DELETE/environments/${e}/keep-alive",
      # POST /operations/{id}/cancel names no environment: operation ids carry it, <kind>_<env>_<unique>
      # (README "Cancelling"), so a cancel is scoped by the id's middle part. Underscores cannot occur in environment
      # names or kinds, so *_<env>_* matches the operations of <env> only.
      "${local.api}POST/operations/*_${e}_*/cancel",
    ]
  }
  reads = ["${local.api}GET/*"]

  tiers = {
    "dev-deployer"     = { allow = var.dev_environments, deny = concat(var.staging_environments, var.prod_environments) }
    "staging-operator" = { allow = var.staging_environments, deny = var.prod_environments }
    "prod-operator"    = { allow = var.prod_environments, deny = [] }
    "readonly"         = { allow = [], deny = [] }
  }

  policies = {
    for role, tier in local.tiers : role => jsonencode({
      Version = "2012-10-17"
      Statement = concat(
        [{
          Sid      = "ReadEverything"
          Effect   = "Allow"
          Action   = "execute-api:Invoke"
          Resource = local.reads
        }],
        length(tier.allow) == 0 ? [] : [{
          Sid      = "ActOnTheTiersEnvironments"
          Effect   = "Allow"
          Action   = "execute-api:Invoke"
          Resource = flatten([for e in tier.allow : local.env_routes[e]])
        }],
        # A guard that holds whatever else gets attached to the role: never a higher tier's environments.
        length(tier.deny) == 0 ? [] : [{
          Sid      = "NeverTheHigherTiers"
          Effect   = "Deny"
          Action   = "execute-api:Invoke"
          Resource = flatten([for e in tier.deny : local.env_routes[e]])
        }],
      )
    })
  }

  trust = {
    for role in keys(local.tiers) : role => jsonencode({
      Version = "2012-10-17"
      Statement = [merge(
        {
          Sid       = "Operators"
          Effect    = "Allow"
          Action    = "sts:AssumeRole"
          Principal = { AWS = lookup(var.trusted_principals, role, ["arn:${local.partition}:iam::${local.account_id}:root"]) }
        },
        contains(keys(var.external_ids), role) ? {
          Condition = { StringEquals = { "sts:ExternalId" = var.external_ids[role] } }
          } : var.require_mfa ? {
          Condition = { Bool = { "aws:MultiFactorAuthPresent" = "true" } }
        } : {},
      )]
    })
  }
}

resource "aws_iam_role" "this" {
  for_each             = var.enabled ? local.tiers : {}
  name                 = "${var.name_prefix}-${each.key}"
  description          = "Operator role ${each.key} of the cart control plane API (terraform/modules/operator_roles)."
  assume_role_policy   = local.trust[each.key]
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = aws_iam_role.this
  name     = "controlplane-api"
  role     = each.value.id
  policy   = local.policies[each.key]
}
