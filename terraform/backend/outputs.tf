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
  description = "KMS key that encrypts the state objects (kms_key_id of every root's backend; writers need kms:GenerateDataKey and kms:Decrypt, readers kms:Decrypt)."
  value       = aws_kms_key.state.arn
}

output "backend_config" {
  description = "The full backend settings of every root, kms_key_id included (the bucket refuses state written with another key)."
  value = {
    bucket       = aws_s3_bucket.state.bucket
    region       = var.region
    kms_key_id   = aws_kms_key.state.arn
    encrypt      = true
    use_lockfile = true
  }
}

output "backend_hcl" {
  description = "backend_config as a backend.hcl file: terraform output -raw backend_hcl > ../backend.hcl, then terraform init -backend-config=<path to it> in every root."
  value       = <<-EOT
    # Written from terraform/backend (terraform output -raw backend_hcl). Used by every root:
    #   terraform init -backend-config=../../backend.hcl   (environments/<env>)
    #   terraform init -backend-config=../backend.hcl      (controlplane)
    bucket       = "${aws_s3_bucket.state.bucket}"
    region       = "${var.region}"
    kms_key_id   = "${aws_kms_key.state.arn}"
    encrypt      = true
    use_lockfile = true
  EOT
}
