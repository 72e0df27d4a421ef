terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, region and kms_key_id come from a backend.hcl written from the backend root's
  # output (terraform/backend.hcl.example):  terraform init -backend-config=../../backend.hcl
  # State is SSE-KMS with the backend's key (the state bucket refuses any other PutObject); locking uses S3 lock
  # files (use_lockfile), not the legacy DynamoDB table.
  backend "s3" {
    key          = "environments/staging/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "cart:environment" = "staging"
      "cart:managed-by"  = "terraform"
    })
  }
}
