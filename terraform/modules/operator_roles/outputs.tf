output "role_arns" {
  description = "Operator role ARNs by role name (dev-deployer, staging-operator, prod-operator, readonly); empty when disabled."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "role_names" {
  description = "Operator role names by role name."
  value       = { for k, r in aws_iam_role.this : k => r.name }
}

output "policies" {
  description = "The roles' permission policies (JSON) by role name, as attached."
  value       = local.policies
}

output "trust_policies" {
  description = "The roles' trust policies (JSON) by role name."
  value       = local.trust
}
