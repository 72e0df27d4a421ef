# The staging environment: its row of the settings table (docs/contract.md) and its state (versions.tf). Everything
# else is modules/environment, shared by dev, staging and prod.

module "environment" {
  source = "../../modules/environment"

  environment = "staging"
  tier        = "staging"
  vpc_cidr    = "10.20.0.0/16"

  settings = {
    nat_gateway          = "single" # dev's cost lever: one NAT gateway
    desired_count        = 2
    min_count            = 2
    max_count            = 4
    dynamodb             = "on-demand"
    autoscaling          = true
    fargate_spot         = false # prod's shape: on-demand Fargate
    cpu_target_percent   = 60
    task_cpu             = "256"
    task_memory          = "512"
    log_retention_days   = 30
    deletion_protection  = false
    image_tag_mutability = "IMMUTABLE" # a tag names one image for good
  }

  certificate_arn = var.certificate_arn
  alarm_email     = var.alarm_email
  cicd            = var.cicd
}
