# A small, deliberately insecure AWS estate: every resource here trips at
# least one palisade rule. `palisade scan iac examples/` reports them.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region = var.region
}

locals {
  name_prefix = "${var.environment}-acme"
  admin_ports = [22, 3389]
}

resource "aws_s3_bucket" "assets" {
  bucket = "${local.name_prefix}-assets"
  acl    = var.environment == "prod" ? "private" : "public-read"
}

resource "aws_s3_bucket" "reports" {
  bucket = "${local.name_prefix}-reports"
}

resource "aws_s3_bucket_versioning" "reports" {
  bucket = aws_s3_bucket.reports.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
  }
}

resource "aws_kms_key" "data" {
  description         = "data at rest"
  enable_key_rotation = false
}

resource "aws_security_group" "admin" {
  name        = "${local.name_prefix}-admin"
  description = "Administrative access"
  vpc_id      = aws_vpc.main.id

  dynamic "ingress" {
    for_each = local.admin_ports
    content {
      description = "admin port ${ingress.value}"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = [var.admin_cidr]
    }
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_db_instance" "orders" {
  identifier              = "${local.name_prefix}-orders"
  engine                  = "postgres"
  instance_class          = "db.t4g.micro"
  allocated_storage       = 20
  username                = "orders"
  manage_master_user_password = true
  publicly_accessible     = true
  storage_encrypted       = false
  backup_retention_period = 0
}

resource "aws_iam_policy" "ops" {
  name = "${local.name_prefix}-ops"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "*"
      Resource = "*"
    }]
  })
}

resource "aws_instance" "bastion" {
  count                       = var.bastion_count
  ami                         = "ami-0123456789abcdef0"
  instance_type               = "t3.micro"
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.admin.id]
}

module "logs" {
  source      = "./modules/logs"
  name_prefix = local.name_prefix
}
