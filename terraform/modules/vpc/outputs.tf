output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "VPC CIDR."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets (ALB, NAT), one per AZ."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets for the Fargate tasks, one per AZ (contract: subnet_ids)."
  value       = aws_subnet.private[*].id
}

output "nat_gateway_ids" {
  description = "NAT gateways: one in single mode, one per AZ in per_az mode."
  value       = aws_nat_gateway.this[*].id
}

output "availability_zones" {
  description = "AZs in use."
  value       = local.azs
}
