"""AWS adapters. Only this package imports boto3/botocore."""
