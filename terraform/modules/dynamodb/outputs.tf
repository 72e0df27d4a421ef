output "table_name" {
  description = "Cart data table name (contract: data_table_name)."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "Cart data table ARN."
  value       = aws_dynamodb_table.this.arn
}

output "billing_mode" {
  description = "PAY_PER_REQUEST or PROVISIONED."
  value       = aws_dynamodb_table.this.billing_mode
}

output "autoscaling_enabled" {
  description = "Whether read/write capacity autoscaling exists."
  value       = local.scale
}
