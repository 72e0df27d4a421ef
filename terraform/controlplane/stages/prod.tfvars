# The prod stage of the control plane manages staging and prod: its role cannot touch dev.
#   terraform apply -var-file=stages/prod.tfvars
stage                = "prod"
staging_environments = ["staging"]
prod_environments    = ["prod"]
