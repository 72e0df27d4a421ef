output "parameter_name" {
  description = "Name of the contract parameter."
  value       = aws_ssm_parameter.contract.name
}

output "parameter_arn" {
  description = "ARN of the contract parameter."
  value       = aws_ssm_parameter.contract.arn
}

output "document" {
  description = "The contract document (decoded)."
  value       = local.document
}

output "json" {
  description = "The contract document as published."
  value       = aws_ssm_parameter.contract.value
}
