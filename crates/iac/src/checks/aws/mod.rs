//! AWS checks for Terraform (HCL and plan) and CloudFormation.
//!
//! A rule that exists in both languages is one check listing both resource
//! kinds (`aws_s3_bucket` and `AWS::S3::Bucket`), so the user sees one control
//! whatever they wrote it in.
//!
//! Conventions every check follows:
//! - a value that cannot be known at scan time ([`unknown`]) never produces a
//!   violation: a `kms_key_id = "${aws_kms_key.k.arn}"` counts as set;
//! - a missing attribute (or a plan's `null`) takes the provider's default;
//! - evidence names the attribute in the resource's own language
//!   (`publicly_accessible = true`, `PubliclyAccessible: true`) and never
//!   contains a secret value.
//!
//! Shared helpers live here: attribute access by framework ([`attr`],
//! [`is_on`], [`is_off`]), evidence rendering ([`shown`]), policy documents
//! ([`policy`]), security group ingress rules ([`network`]) and secret-looking
//! values ([`secrets`]).

use serde_json::Value;

use super::{Check, Violation};
use crate::model::{is_true, is_unknown, IacResource};

mod cloudtrail;
mod data;
mod ec2;
mod ecr;
mod edge;
mod eks;
mod elb;
mod iam;
mod kms;
mod lambda;
pub(crate) mod network;
pub(crate) mod policy;
mod rds;
mod s3;
pub(crate) mod secrets;

/// CIS AWS Foundations Benchmark, the version control ids refer to.
pub(crate) const CIS_AWS: &str = "CIS AWS Foundations v3.0";
pub(crate) const SOC2: &str = "SOC 2";
pub(crate) const ISO: &str = "ISO 27001:2022";
pub(crate) const GDPR: &str = "GDPR";

pub(crate) static CHECKS: &[Check] = &[
    // S3
    s3::ENCRYPTION,
    s3::KMS_ENCRYPTION,
    s3::PUBLIC_READ_ACL,
    s3::PUBLIC_WRITE_ACL,
    s3::PUBLIC_POLICY,
    s3::PUBLIC_ACCESS_BLOCK,
    s3::BLOCK_PUBLIC_ACLS,
    s3::BLOCK_PUBLIC_POLICY,
    s3::IGNORE_PUBLIC_ACLS,
    s3::RESTRICT_PUBLIC_BUCKETS,
    s3::VERSIONING,
    s3::ACCESS_LOGGING,
    s3::SECURE_TRANSPORT,
    // EC2 and VPC
    ec2::SG_SSH,
    ec2::SG_RDP,
    ec2::SG_HTTP,
    ec2::SG_DATABASE,
    ec2::SG_ALL_PORTS,
    ec2::DEFAULT_SG,
    ec2::VPC_FLOW_LOGS,
    ec2::IMDSV2,
    ec2::PUBLIC_IP,
    ec2::SUBNET_PUBLIC_IP,
    ec2::EBS_ENCRYPTION,
    ec2::EBS_DEFAULT_ENCRYPTION,
    ec2::BLOCK_DEVICE_ENCRYPTION,
    // IAM
    iam::ADMIN_POLICY,
    iam::STAR_ACTION,
    iam::PRIVILEGE_ESCALATION,
    iam::USER_POLICY,
    iam::ACCESS_KEY,
    iam::ROLE_TRUST_ANY,
    iam::PASSWORD_LENGTH,
    iam::PASSWORD_REUSE,
    iam::PASSWORD_LOWERCASE,
    iam::PASSWORD_UPPERCASE,
    iam::PASSWORD_NUMBERS,
    iam::PASSWORD_SYMBOLS,
    // RDS
    rds::PUBLIC,
    rds::ENCRYPTION,
    rds::BACKUP,
    rds::DELETION_PROTECTION_INSTANCE,
    rds::DELETION_PROTECTION_CLUSTER,
    rds::IAM_AUTH_INSTANCE,
    rds::IAM_AUTH_CLUSTER,
    rds::MULTI_AZ,
    rds::MINOR_UPGRADE,
    // CloudTrail
    cloudtrail::MULTI_REGION,
    cloudtrail::LOG_VALIDATION,
    cloudtrail::KMS,
    cloudtrail::LOGGING,
    cloudtrail::CLOUDWATCH,
    // KMS
    kms::ROTATION,
    kms::WILDCARD_PRINCIPAL,
    // Data stores and messaging
    data::EFS_ENCRYPTION,
    data::SNS_ENCRYPTION,
    data::SQS_ENCRYPTION,
    data::DYNAMODB_PITR,
    data::DYNAMODB_CMK,
    data::ELASTICACHE_AT_REST,
    data::ELASTICACHE_IN_TRANSIT,
    data::REDSHIFT_ENCRYPTION,
    data::REDSHIFT_PUBLIC,
    data::OPENSEARCH_AT_REST,
    data::OPENSEARCH_NODE_TO_NODE,
    data::OPENSEARCH_HTTPS,
    data::KINESIS_ENCRYPTION,
    data::LOG_GROUP_RETENTION,
    data::LOG_GROUP_KMS,
    data::SECRETS_MANAGER_CMK,
    // Load balancers
    elb::LISTENER_HTTPS,
    elb::LISTENER_TLS12,
    elb::DROP_INVALID_HEADERS,
    elb::ALB_ACCESS_LOGS,
    elb::ELB_ACCESS_LOGS,
    // EKS
    eks::PUBLIC_ENDPOINT,
    eks::PUBLIC_CIDR,
    eks::SECRETS_ENCRYPTION,
    eks::CONTROL_PLANE_LOGGING,
    eks::NODE_GROUP_SSH,
    // ECR
    ecr::SCAN_ON_PUSH,
    ecr::MUTABLE_TAGS,
    ecr::KMS_ENCRYPTION,
    ecr::PUBLIC_POLICY,
    // Lambda
    lambda::ENV_SECRETS,
    lambda::URL_NO_AUTH,
    // CloudFront and API Gateway
    edge::CLOUDFRONT_HTTPS,
    edge::CLOUDFRONT_TLS12,
    edge::APIGW_ACCESS_LOGGING,
];

/// Convenience for checks with a single failure message.
pub(crate) fn fail_if(condition: bool, violation: impl FnOnce() -> Violation) -> Vec<Violation> {
    if condition {
        vec![violation()]
    } else {
        Vec::new()
    }
}

/// Whether a value cannot be known at scan time: a `"${...}"` reference, a
/// string with an interpolation in it, or an unresolved CloudFormation intrinsic.
pub(crate) fn unknown(value: &Value) -> bool {
    if is_unknown(value) {
        return true;
    }
    match value {
        Value::String(s) => s.contains("${"),
        Value::Object(map) => map.keys().any(|k| k.starts_with("Fn::") || k == "Ref"),
        _ => false,
    }
}

/// The value unless it is absent or `null` (plans write unset attributes as `null`).
pub(crate) fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

/// An attribute by framework: the `tf` path for Terraform, `cfn` for CloudFormation.
pub(crate) fn attr<'a>(resource: &'a IacResource, tf: &str, cfn: &str) -> Option<&'a Value> {
    present(if resource.framework.is_terraform() {
        resource.get(tf)
    } else {
        resource.get(cfn)
    })
}

/// The attribute name to show in evidence, in the resource's language.
pub(crate) fn key<'a>(resource: &IacResource, tf: &'a str, cfn: &'a str) -> &'a str {
    if resource.framework.is_terraform() {
        tf
    } else {
        cfn
    }
}

/// Definitely enabled: `true`, or missing with a default of on. Unknown is not on.
pub(crate) fn is_on(value: Option<&Value>, default_on: bool) -> bool {
    match present(value) {
        None => default_on,
        Some(v) if unknown(v) => false,
        Some(v) => is_true(Some(v)),
    }
}

/// Definitely disabled: anything but `true`, or missing with a default of off.
/// Unknown is not off.
pub(crate) fn is_off(value: Option<&Value>, default_on: bool) -> bool {
    match present(value) {
        None => !default_on,
        Some(v) if unknown(v) => false,
        Some(v) => !is_true(Some(v)),
    }
}

/// Set to something (an unknown value counts as set); empty strings and
/// collections do not.
pub(crate) fn is_set(value: Option<&Value>) -> bool {
    match present(value) {
        None => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
        Some(_) => true,
    }
}

/// A known string value (`None` when missing, unknown or not a string).
pub(crate) fn known_str(value: Option<&Value>) -> Option<&str> {
    present(value)
        .filter(|v| !unknown(v))
        .and_then(Value::as_str)
}

/// Every known string in a string or a (nested) list of strings.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    fn walk<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::String(s) if !unknown(value) => out.push(s),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(v) = value {
        walk(v, &mut out);
    }
    out
}

/// A known integer, from a number or a numeric string.
pub(crate) fn int(value: Option<&Value>) -> Option<i64> {
    match present(value)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Renders a value for evidence: JSON for Terraform (`"public-read"`),
/// plain YAML-like text for CloudFormation (`PublicRead`).
pub(crate) fn render(resource: &IacResource, value: &Value) -> String {
    match value {
        Value::String(s) if !resource.framework.is_terraform() => s.clone(),
        other => other.to_string(),
    }
}

/// Evidence for one attribute: `acl = "public-read"` / `AccessControl: PublicRead`,
/// or `storage_encrypted not set (defaults to false)` when it is missing.
pub(crate) fn shown(
    resource: &IacResource,
    tf: &str,
    cfn: &str,
    value: Option<&Value>,
    default: &str,
) -> String {
    let name = display(key(resource, tf, cfn));
    match present(value) {
        Some(v) if resource.framework.is_terraform() => format!("{name} = {}", render(resource, v)),
        Some(v) => format!("{name}: {}", render(resource, v)),
        None => format!("{name} not set (defaults to {default})"),
    }
}

/// A path for people: `point_in_time_recovery.0.enabled` -> `point_in_time_recovery.enabled`.
pub(crate) fn display(path: &str) -> String {
    path.split('.')
        .filter(|s| s.parse::<usize>().is_err())
        .collect::<Vec<_>>()
        .join(".")
}

/// A boolean setting that must be on: one violation saying `what` when it is
/// definitely off (missing takes `default_on`).
pub(crate) fn require_on(
    resource: &IacResource,
    tf: &str,
    cfn: &str,
    default_on: bool,
    what: &str,
) -> Vec<Violation> {
    let value = attr(resource, tf, cfn);
    fail_if(is_off(value, default_on), || {
        Violation::new(format!("`{}` {what}", resource.name)).evidence(shown(
            resource,
            tf,
            cfn,
            value,
            if default_on { "true" } else { "false" },
        ))
    })
}

/// A setting (usually a KMS key) that must be present: one violation saying
/// `what` when it is missing or empty. Unknown values count as set.
pub(crate) fn require_set(
    resource: &IacResource,
    tf: &str,
    cfn: &str,
    what: &str,
) -> Vec<Violation> {
    fail_if(!is_set(attr(resource, tf, cfn)), || {
        Violation::new(format!("`{}` {what}", resource.name))
            .evidence(format!("{} not set", display(key(resource, tf, cfn))))
    })
}

/// The companion resources of `kind` whose `path` refers to `target`, for
/// either framework (a thin wrapper kept for readability at call sites).
pub(crate) fn has_companion(
    ctx: &super::Context,
    kind: &str,
    path: &str,
    target: &IacResource,
) -> bool {
    ctx.companions(kind, path, target).next().is_some()
}

/// The resources of `kind` that `reference` (an attribute of a companion) points to.
pub(crate) fn referenced<'a>(
    ctx: &super::Context<'a>,
    kind: &str,
    reference: &Value,
) -> Vec<&'a IacResource> {
    ctx.of_kind(kind)
        .map(|(_, r)| r)
        .filter(|r| {
            let literal = r
                .get("bucket")
                .or_else(|| r.get("name"))
                .and_then(Value::as_str);
            super::refers_to(reference, &r.address, literal)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_values_are_neither_on_nor_off() {
        let v = json!("${var.enabled}");
        assert!(!is_on(Some(&v), false));
        assert!(!is_off(Some(&v), false));
        assert!(is_off(None, false));
        assert!(is_off(Some(&Value::Null), false));
        assert!(is_on(None, true));
        assert!(unknown(&json!({"Fn::If": ["C", true, false]})));
        assert!(unknown(&json!("arn:aws:kms:${var.region}:1:key/x")));
    }

    #[test]
    fn strings_and_ints_are_read_leniently() {
        assert_eq!(strings(Some(&json!(["a", ["b"], "${x}"]))), vec!["a", "b"]);
        assert_eq!(int(Some(&json!("22"))), Some(22));
        assert_eq!(int(Some(&json!(22))), Some(22));
    }
}
