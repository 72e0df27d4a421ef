# Internet-facing ALB in front of the cart service. The control plane registers the ECS service with the target
# group (contract: target_group_arn); Terraform never creates targets.

locals {
  https = var.certificate_arn != ""
}

# Replacements of what a running service depends on (this security group, the target group) are
# create-before-destroy: the new one exists and is wired in (listener, ALB, contract) before the old one goes, so the
# old one's deletion is the only step that can wait for the service. Generated names (name_prefix) let both exist.
resource "aws_security_group" "alb" {
  #checkov:skip=CKV_AWS_260:This is the public entry point of the shop; port 80 redirects to HTTPS when a certificate is set. ingress_cidr_blocks narrows it.
  name_prefix = "${var.name}-alb-"
  description = "ALB of ${var.name}: clients in, container port out to the VPC"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTP from clients (redirected to HTTPS when a certificate is set)"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }

  ingress {
    description = "HTTPS from clients"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }

  egress {
    description = "To the tasks on the container port"
    from_port   = var.container_port
    to_port     = var.container_port
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }

  tags = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:WAF is attached per organisation policy outside this stack (a web ACL is account-wide).
  #checkov:skip=CKV_AWS_91:Access logs need a log bucket with an ELB-specific policy; set access_logs_bucket to enable them.
  #checkov:skip=CKV_AWS_150:Deletion protection follows var.deletion_protection (on in prod, off where environments are torn down nightly).
  name                       = "${var.name}-alb"
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == "" ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }

  tags = var.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the ALB; ALB-to-task traffic stays inside the VPC on the container port.
  # A target group name is at most 32 characters and a prefix at most 6: "cart-" plus a generated suffix; the tag
  # Name keeps cart-<env>-tg for people.
  name_prefix          = "cart-"
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = "cart-${var.environment}-tg" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Port 80 redirects to HTTPS whenever certificate_arn is set; without a certificate (dev, offline tests) it is the only listener.
  #checkov:skip=CKV_AWS_103:TLS policy is set on the HTTPS listener; this one is plain HTTP by design.
  #checkov:skip=CKV2_AWS_20:Redirect to HTTPS is conditional on certificate_arn (dynamic default_action below).
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.this.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count             = local.https ? 1 : 0
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = var.tags
}
