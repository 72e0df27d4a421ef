output "bucket_name" {
  description = "State bucket; pass it to every root with -backend-config=bucket=<this>."
  value       = aws_s3_bucket.state.bucket
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.state.arn
}

output "region" {
  description = "Region of the state bucket; pass it with -backend-config=region=<this>."
  value       = var.region
}

output "lock_table_name" {
  description = "DynamoDB lock table for Terraform < 1.10 clients only. The roots here use use_lockfile = true instead."
  value       = aws_dynamodb_table.lock.name
}

output "kms_key_arn" {
  description = "KMS key that encrypts the state objects (readers of state need kms:Decrypt on it)."
  value       = aws_kms_key.state.arn
}

output "backend_config" {
  description = "Ready-to-use backend settings for the roots (write them to a backend.hcl and pass -backend-config=backend.hcl)."
  value = {
    bucket       = aws_s3_bucket.state.bucket
    region       = var.region
    encrypt      = true
    use_lockfile = true
  }
}
