variable "name_prefix" {
  type = string
}

resource "aws_cloudtrail" "main" {
  name                          = "${var.name_prefix}-trail"
  s3_bucket_name                = "${var.name_prefix}-trail-logs"
  is_multi_region_trail         = false
  enable_log_file_validation    = false
}

resource "aws_sqs_queue" "events" {
  name                    = "${var.name_prefix}-events"
  sqs_managed_sse_enabled = false
}
