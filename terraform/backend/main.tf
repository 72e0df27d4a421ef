# Terraform remote state backend: one S3 bucket for every root's state, plus a DynamoDB lock table.
#
# Locking: the roots in this repository lock with `use_lockfile = true` (S3-native lock objects, Terraform >= 1.10).
# The DynamoDB table is kept only so that older clients (`dynamodb_table = ...`) can still lock safely; new roots
# must not depend on it.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  bucket_name = var.bucket_name != "" ? var.bucket_name : "cart-service-tfstate-${local.account_id}"
}

resource "aws_kms_key" "state" {
  description             = "Encrypts the Terraform state of the cart service (bucket ${local.bucket_name})."
  deletion_window_in_days = var.kms_key_deletion_window_days
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "state" {
  name          = "alias/cart-service-tfstate"
  target_key_id = aws_kms_key.state.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A KMS key policy's resource "*" means this key only; administration stays with the account root (IAM decides who).
  #checkov:skip=CKV_AWS_111:Same: key policy statements apply to this key only, and service use is conditioned on the source account.
  #checkov:skip=CKV_AWS_356:Key policies must use resource "*" (it is the key itself).
  # Key administration and use stay with the account (IAM policies decide who may read state).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means "this key"
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access logging would need a second bucket outside this state; audit state access with CloudTrail S3 data events instead.
  #checkov:skip=CKV_AWS_144:Cross-region replication of Terraform state is an operator choice (cost, data residency); versioning covers recovery.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state-change notifications; Terraform reads and writes the objects itself.
  bucket = local.bucket_name

  # Off by default: a bucket that still holds state must never be deleted by accident. See variables.tf.
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = local.bucket_name })
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Every state object is SSE-KMS with this key: a PutObject that asks for another algorithm, another key, or no
  # encryption header at all is refused (two statements: either mismatch denies). The roots send both headers
  # because their backend config carries kms_key_id (backend_config output); Terraform sends them for the state and
  # for the .tflock objects of use_lockfile.
  statement {
    sid       = "DenyStateWritesNotSseKms"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }

  statement {
    sid       = "DenyStateWritesWithAnotherKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.state.arn]
    }
  }

  # AWS's recommended minimum-TLS statement (Deny s3:* below TLS 1.2).
  #parliament:ignore=MISMATCHED_TYPE "s3:TlsVersion requires a value of type Numeric" parliament accepts integers only (^\d+$) as numbers; the TLS version is the decimal 1.2, as in AWS's documentation.
  #parliament:ignore=UNKNOWN_CONDITION_FOR_ACTION "Unknown condition s3:TlsVersion for action" parliament expands s3:* to account-level actions that lack the key; this statement only names this bucket's ARNs, where every object and bucket action has it.
  statement {
    sid     = "DenyOutdatedTLS"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.bucket.json

  # The public access block must exist first, or a policy change can briefly race it.
  depends_on = [aws_s3_bucket_public_access_block.state]
}

resource "aws_dynamodb_table" "lock" {
  name         = var.lock_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.state.arn
  }


  tags = merge(var.tags, { Name = var.lock_table_name })
}
