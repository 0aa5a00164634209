//! S3 bucket checks.

use palisade_core::Severity;

use super::{fail_if, CIS_AWS};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::IacResource;

pub(crate) const ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-encryption",
        title: "S3 bucket has no default server-side encryption",
        severity: Severity::High,
        description: "Objects written without default encryption are stored in plain text unless every writer asks for encryption. Since January 2023 AWS applies SSE-S3 to new buckets, but an explicit configuration (ideally SSE-KMS with a customer managed key) documents intent and satisfies auditors.",
        remediation: "Add a server_side_encryption_configuration (or an aws_s3_bucket_server_side_encryption_configuration resource / BucketEncryption property) with sse_algorithm aws:kms or AES256.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html"],
        compliance: &[(CIS_AWS, "2.1.1"), ("SOC 2", "CC6.1"), ("ISO 27001:2022", "A.8.24")],
        checkov: &["CKV_AWS_19", "CKV_AWS_145"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_s3_bucket", "AWS::S3::Bucket"],
        run: s3_encryption,
    },
};

fn s3_encryption(bucket: &IacResource, ctx: &Context) -> Vec<Violation> {
    let encrypted = if bucket.framework.is_terraform() {
        bucket.get("server_side_encryption_configuration").is_some()
            || ctx
                .companions(
                    "aws_s3_bucket_server_side_encryption_configuration",
                    "bucket",
                    bucket,
                )
                .next()
                .is_some()
    } else {
        bucket.get("BucketEncryption").is_some()
    };
    fail_if(!encrypted, || {
        Violation::new(format!(
            "S3 bucket `{}` has no default encryption configuration",
            bucket.name
        ))
    })
}
