# What a running service depends on can be replaced without a name collision (mocked provider). The
# create_before_destroy lifecycle itself is checked by tests/terraform/test_static.py (terraform test cannot read it).

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name              = "cart-service-dev"
  environment       = "dev"
  vpc_id            = "vpc-0123456789abcdef0"
  vpc_cidr_block    = "10.10.0.0/16"
  public_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
}

run "generated_names_let_old_and_new_coexist" {
  command = plan

  assert {
    condition     = aws_lb_target_group.this.name_prefix == "cart-" && aws_lb_target_group.this.tags.Name == "cart-dev-tg"
    error_message = "The target group has a generated name (prefix cart-, tag Name cart-<env>-tg)."
  }

  assert {
    condition     = aws_security_group.alb.name_prefix == "cart-service-dev-alb-"
    error_message = "The ALB security group has a generated name."
  }
}

run "a_new_port_replaces_the_target_group_behind_the_same_listener" {
  command = apply

  variables {
    container_port = 9090
  }

  assert {
    condition     = aws_lb_target_group.this.port == 9090 && aws_lb_listener.http.default_action[0].target_group_arn == aws_lb_target_group.this.arn
    error_message = "The listener forwards to the (new) target group."
  }
}
