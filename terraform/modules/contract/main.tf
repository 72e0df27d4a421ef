# The one place Terraform and the control plane meet (docs/contract.md): a String parameter holding a JSON
# document of version 1, read by the control plane before it touches anything.

locals {
  document = merge(
    {
      version     = 1
      environment = var.environment
      tier        = var.tier
    },
    var.base,
    var.extra,
    { profile = var.profile },
  )
}

resource "aws_ssm_parameter" "contract" {
  #checkov:skip=CKV2_AWS_34:The contract holds names and ARNs only (no secrets) and is type String by definition (docs/contract.md).
  name        = "/cart-service/${var.environment}/contract"
  description = "Environment contract v1 of ${var.environment} (docs/contract.md): base resources and settings for the control plane."
  type        = "String"
  tier        = "Standard"
  value       = jsonencode(local.document)
  tags        = var.tags
}
