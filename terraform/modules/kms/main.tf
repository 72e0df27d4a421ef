# One customer-managed key per environment. Logs, SQS, SNS, DynamoDB, ECR, CodeBuild and the artifact bucket of the
# environment encrypt with it, so revoking or auditing the environment's data is one key.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A KMS key policy's resource "*" means this key only; administration stays with the account root (IAM decides who).
  #checkov:skip=CKV_AWS_111:Same: key policy statements apply to this key only, and service use is conditioned on the source account.
  #checkov:skip=CKV_AWS_356:Key policies must use resource "*" (it is the key itself).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # The condition is the one AWS documents for CloudWatch Logs (the log group's ARN in the encryption context).
  # kms:Describe* is not granted: Describe calls carry no encryption context, so under this condition it never applied.
  #parliament:ignore=MISMATCHED_TYPE "ArnLike requires a value of type Arn but given String" kms:EncryptionContext:aws:logs:arn is typed String but holds the log group's ARN; AWS's own key policy for CloudWatch Logs compares it with an ARN operator.
  statement {
    sid       = "CloudWatchLogsOfThisEnvironment"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "ServicesPublishingToEncryptedQueuesAndTopics"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Data key of ${var.name} (${var.environment})."
  deletion_window_in_days = var.deletion_window_days
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
