//! AWS checks for Terraform (HCL and plan) and CloudFormation.
//!
//! A rule that exists in both languages is one check listing both resource
//! kinds (`aws_s3_bucket` and `AWS::S3::Bucket`), so the user sees one control
//! whatever they wrote it in.

use super::{Check, Violation};

mod s3;

/// CIS AWS Foundations Benchmark, the version control ids refer to.
pub(crate) const CIS_AWS: &str = "CIS AWS Foundations v3.0";

pub(crate) static CHECKS: &[Check] = &[s3::ENCRYPTION];

/// Convenience for checks with a single failure message.
pub(crate) fn fail_if(condition: bool, violation: impl FnOnce() -> Violation) -> Vec<Violation> {
    if condition {
        vec![violation()]
    } else {
        Vec::new()
    }
}

