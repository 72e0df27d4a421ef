# The dev stage of the control plane manages the dev environment only: its role cannot touch staging or prod.
#   terraform apply -var-file=stages/dev.tfvars
stage            = "dev"
dev_environments = ["dev"]
