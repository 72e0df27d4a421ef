output "rollback_alarm_names" {
  description = "Alarms the control plane attaches to the service's deployments for automatic rollback (contract: alarm_names)."
  value = [
    aws_cloudwatch_metric_alarm.target_5xx.alarm_name,
    aws_cloudwatch_metric_alarm.unhealthy_hosts.alarm_name,
    aws_cloudwatch_metric_alarm.p95_latency.alarm_name,
  ]
}

output "alarm_arns" {
  description = "Every alarm of the module by short name."
  value = {
    target_5xx      = aws_cloudwatch_metric_alarm.target_5xx.arn
    unhealthy_hosts = aws_cloudwatch_metric_alarm.unhealthy_hosts.arn
    p95_latency     = aws_cloudwatch_metric_alarm.p95_latency.arn
    cpu_high        = aws_cloudwatch_metric_alarm.cpu_high.arn
    dlq_not_empty   = aws_cloudwatch_metric_alarm.dlq_not_empty.arn
  }
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}
