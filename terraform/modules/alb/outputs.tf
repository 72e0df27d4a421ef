output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension LoadBalancer)."
  value       = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  description = "Public DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "security_group_id" {
  description = "Security group of the load balancer; the task security group admits it."
  value       = aws_security_group.alb.id
}

output "target_group_arn" {
  description = "Target group the control plane attaches the ECS service to (contract: target_group_arn)."
  value       = aws_lb_target_group.this.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (CloudWatch dimension TargetGroup)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "listener_arn" {
  description = "The listener that forwards to the target group (HTTPS when a certificate is set, else HTTP)."
  value       = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
}
