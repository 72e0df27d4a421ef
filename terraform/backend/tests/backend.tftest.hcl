# Offline checks of the state backend's protections (mocked provider, plan only).

mock_provider "aws" {
  source = "../tests/mocks"
}

run "defaults_protect_the_state" {
  command = plan

  assert {
    condition     = aws_s3_bucket.state.bucket == "cart-service-tfstate-123456789012"
    error_message = "The state bucket must be named cart-service-tfstate-<account-id> (docs/contract.md)."
  }

  assert {
    condition     = aws_s3_bucket.state.force_destroy == false
    error_message = "force_destroy must be off by default."
  }

  assert {
    condition     = aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"
    error_message = "State bucket versioning must be enabled."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.state.block_public_acls,
      aws_s3_bucket_public_access_block.state.block_public_policy,
      aws_s3_bucket_public_access_block.state.ignore_public_acls,
      aws_s3_bucket_public_access_block.state.restrict_public_buckets,
    ])
    error_message = "All four public access block settings must be on."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.state.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm]) == "aws:kms"
    error_message = "State must be encrypted with KMS."
  }

  assert {
    condition     = aws_kms_key.state.enable_key_rotation
    error_message = "The state key must rotate."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.bucket.statement :
      s.effect == "Deny" && anytrue([for c in s.condition : c.variable == "aws:SecureTransport" && c.values == tolist(["false"])])
    ])
    error_message = "The bucket policy must deny requests without TLS."
  }

  assert {
    condition     = aws_dynamodb_table.lock.hash_key == "LockID" && aws_dynamodb_table.lock.name == "cart-service-tfstate-lock"
    error_message = "The legacy lock table must be cart-service-tfstate-lock with hash key LockID."
  }

  assert {
    condition     = output.backend_config.use_lockfile == true && output.backend_config.encrypt == true
    error_message = "The roots must be told to use S3-native locking and encryption."
  }
}

# The key's ARN is known after apply (mocked): the policy and the outputs name it.
run "state_is_written_with_the_backend_key_only" {
  command = apply

  assert {
    condition     = output.backend_config.kms_key_id == aws_kms_key.state.arn && output.kms_key_arn == aws_kms_key.state.arn
    error_message = "backend_config must carry kms_key_id = the state key's ARN."
  }

  assert {
    condition     = strcontains(output.backend_hcl, "kms_key_id   = \"${aws_kms_key.state.arn}\"") && strcontains(output.backend_hcl, "use_lockfile = true")
    error_message = "backend_hcl must be a complete backend.hcl, kms_key_id included."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.bucket.statement : s
      if s.effect == "Deny" && tolist(s.actions) == tolist(["s3:PutObject"]) && contains(s.resources, "${aws_s3_bucket.state.arn}/*") &&
      length(s.condition) == 1 && anytrue([for c in s.condition :
        c.test == "StringNotEquals" && c.variable == "s3:x-amz-server-side-encryption" && tolist(c.values) == tolist(["aws:kms"])
      ])
    ]) != null
    error_message = "The bucket policy must deny PutObject that is not SSE-KMS (its own statement)."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.bucket.statement : s
      if s.effect == "Deny" && tolist(s.actions) == tolist(["s3:PutObject"]) && contains(s.resources, "${aws_s3_bucket.state.arn}/*") &&
      length(s.condition) == 1 && anytrue([for c in s.condition :
        c.test == "StringNotEquals" && c.variable == "s3:x-amz-server-side-encryption-aws-kms-key-id" && tolist(c.values) == tolist([aws_kms_key.state.arn])
      ])
    ]) != null
    error_message = "The bucket policy must deny PutObject with any key but the state key (its own statement)."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.state.rule : r.apply_server_side_encryption_by_default[0].kms_master_key_id]) == aws_kms_key.state.arn
    error_message = "The bucket's default encryption is the same key."
  }
}

run "force_destroy_is_explicit" {
  command = plan

  variables {
    force_destroy = true
  }

  assert {
    condition     = aws_s3_bucket.state.force_destroy == true
    error_message = "force_destroy must follow the variable."
  }
}

run "invalid_bucket_name_is_rejected" {
  command = plan

  variables {
    bucket_name = "Not_A_Bucket"
  }

  expect_failures = [var.bucket_name]
}
