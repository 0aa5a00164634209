package acme.aws.tags

# Trivy-style metadata; v0 syntax (conftest's `deny[msg] { ... }`) loads too.
__rego_metadata__ := {
	"id": "acme.aws.bucket-owner-tag",
	"title": "S3 bucket has no owner tag",
	"severity": "LOW",
	"description": "Every bucket names its owning team so findings reach someone.",
	"recommended_actions": "Add tags = { owner = \"<team>\" }.",
}

deny[msg] {
	input.kind == "aws_s3_bucket"
	not input.attributes.tags.owner
	msg := sprintf("%s has no `owner` tag", [input.address])
}
