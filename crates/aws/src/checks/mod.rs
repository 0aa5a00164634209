//! The built-in AWS check registry.
//!
//! A [`Check`] pairs a rule's metadata ([`RuleSpec`]) with a pure function
//! over the [`Inventory`]; every rule is registered exactly once, in
//! [`CHECKS`], and `palisade rules list` / `docs/rules.md` are generated from it.

use chrono::{DateTime, Utc};
use palisade_core::{Category, ComplianceRef, PeerId, Rule, Severity};

use crate::inventory::Inventory;

mod cloudtrail;
mod detection;
mod ec2;
pub mod eks;
mod elbv2;
mod iam;
mod kms;
pub mod lambda;
mod messaging;
mod rds;
mod s3;

/// CIS AWS Foundations Benchmark, the version control ids refer to (as in the IaC engine).
pub(crate) const CIS_AWS: &str = "CIS AWS Foundations v3.0";
pub(crate) const SOC2: &str = "SOC 2";
pub(crate) const ISO: &str = "ISO 27001:2022";

/// Static metadata of a built-in rule.
#[derive(Debug)]
pub struct RuleSpec {
    /// `aws.s3.public-access-block`, `aws.iam.root-mfa`.
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub remediation: &'static str,
    pub references: &'static [&'static str],
    /// `(framework, control)`, e.g. `(CIS_AWS, "2.1.4")`.
    pub compliance: &'static [(&'static str, &'static str)],
    /// Equivalent Prowler check ids.
    pub prowler: &'static [&'static str],
}

impl RuleSpec {
    pub fn to_rule(&self) -> Rule {
        Rule {
            id: self.id.to_string(),
            title: self.title.into(),
            severity: self.severity,
            category: Category::Posture,
            description: self.description.to_string(),
            remediation: self.remediation.into(),
            references: self.references.iter().map(|r| r.to_string()).collect(),
            compliance: self
                .compliance
                .iter()
                .map(|(framework, control)| ComplianceRef::new(*framework, *control))
                .collect(),
            peers: self
                .prowler
                .iter()
                .map(|id| PeerId::new("prowler", *id))
                .collect(),
        }
    }
}

/// One failed condition on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Resource type, CloudFormation style: `AWS::S3::Bucket`, `AWS::IAM::User`, `AWS::Account`.
    pub kind: &'static str,
    /// ARN or id.
    pub id: String,
    /// `None` for global resources.
    pub region: Option<String>,
    pub message: String,
    pub evidence: Option<String>,
    /// Distinguishes several hits of one rule on one resource (a port, a policy name).
    pub discriminator: Option<String>,
}

impl Hit {
    pub fn new(kind: &'static str, id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            region: None,
            message: message.into(),
            evidence: None,
            discriminator: None,
        }
    }

    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }

    pub fn discriminator(mut self, discriminator: impl Into<String>) -> Self {
        self.discriminator = Some(discriminator.into());
        self
    }
}

/// What a check sees besides the inventory.
pub struct Context {
    /// The time "now" for age-based checks (key age, last use).
    pub now: DateTime<Utc>,
}

pub type CheckFn = fn(&Inventory, &Context) -> Vec<Hit>;

pub struct Check {
    pub rule: RuleSpec,
    pub run: CheckFn,
}

/// Every built-in check, each rule once.
pub static CHECKS: &[Check] = &[
    // IAM
    iam::ROOT_ACCESS_KEY,
    iam::ROOT_USAGE,
    iam::ROOT_MFA,
    iam::ROOT_HARDWARE_MFA,
    iam::PASSWORD_LENGTH,
    iam::PASSWORD_REUSE,
    iam::PASSWORD_UPPERCASE,
    iam::PASSWORD_LOWERCASE,
    iam::PASSWORD_NUMBERS,
    iam::PASSWORD_SYMBOLS,
    iam::PASSWORD_EXPIRY,
    iam::USER_CONSOLE_MFA,
    iam::INITIAL_ACCESS_KEY,
    iam::ACCESS_KEY_UNUSED,
    iam::CONSOLE_UNUSED,
    iam::TWO_ACTIVE_KEYS,
    iam::ACCESS_KEY_ROTATION,
    iam::USER_ATTACHED_POLICY,
    iam::ADMIN_POLICY,
    iam::ADMINISTRATOR_ACCESS,
    iam::PRIVILEGE_ESCALATION,
    iam::SUPPORT_ROLE,
    iam::CLOUDSHELL_FULL_ACCESS,
    iam::ROLE_TRUST_PUBLIC,
    iam::CROSS_ACCOUNT_NO_EXTERNAL_ID,
    iam::EXPIRED_CERTIFICATE,
    // S3
    s3::PUBLIC_READ_ACL,
    s3::PUBLIC_WRITE_ACL,
    s3::PUBLIC_POLICY,
    s3::PUBLIC_ACCESS_BLOCK,
    s3::SECURE_TRANSPORT,
    s3::MFA_DELETE,
    s3::ENCRYPTION,
    s3::KMS_ENCRYPTION,
    s3::VERSIONING,
    s3::ACCESS_LOGGING,
    s3::ACLS_ENABLED,
    s3::ACCOUNT_PUBLIC_ACCESS_BLOCK,
    // EC2 and VPC
    ec2::SG_SSH,
    ec2::SG_RDP,
    ec2::SG_ALL_PORTS,
    ec2::SG_DATABASE,
    ec2::DEFAULT_SG,
    ec2::NACL_ADMIN_PORTS,
    ec2::IMDSV2,
    ec2::PUBLIC_IP,
    ec2::INSTANCE_PROFILE,
    ec2::SUBNET_PUBLIC_IP,
    ec2::VPC_FLOW_LOGS,
    ec2::EBS_DEFAULT_ENCRYPTION,
    ec2::EBS_VOLUME_ENCRYPTION,
    ec2::PUBLIC_SNAPSHOT,
    ec2::SNAPSHOT_ENCRYPTION,
    ec2::PUBLIC_AMI,
    ec2::UNASSIGNED_EIP,
    ec2::INTERNET_EXPOSED,
    // CloudTrail
    cloudtrail::MULTI_REGION,
    cloudtrail::LOGGING,
    cloudtrail::LOG_VALIDATION,
    cloudtrail::KMS,
    cloudtrail::CLOUDWATCH,
    cloudtrail::BUCKET_ACCESS_LOGGING,
    cloudtrail::BUCKET_PUBLIC,
    cloudtrail::S3_DATA_WRITE,
    cloudtrail::S3_DATA_READ,
    // KMS
    kms::ROTATION,
    kms::PUBLIC_POLICY,
    kms::PENDING_DELETION,
    // RDS
    rds::PUBLIC,
    rds::ENCRYPTION,
    rds::MINOR_UPGRADE,
    rds::BACKUP,
    rds::DELETION_PROTECTION,
    rds::MULTI_AZ,
    rds::SNAPSHOT_PUBLIC,
    rds::SNAPSHOT_ENCRYPTION,
    // Lambda
    lambda::URL_NO_AUTH,
    lambda::PUBLIC_POLICY,
    lambda::ENV_SECRETS,
    lambda::DEPRECATED_RUNTIME,
    // Detection and recording
    detection::GUARDDUTY,
    detection::CONFIG,
    detection::SECURITY_HUB,
    // ELBv2
    elbv2::HTTP_LISTENER,
    elbv2::TLS_POLICY,
    elbv2::INTERNET_EXPOSED,
    // EKS
    eks::PUBLIC_ENDPOINT,
    eks::LOGGING,
    eks::SECRETS_ENCRYPTION,
    eks::UNSUPPORTED_VERSION,
    // Secrets Manager, SNS, SQS
    messaging::SECRET_ROTATION,
    messaging::SECRET_NOT_ROTATED,
    messaging::SECRET_UNUSED,
    messaging::SECRET_PUBLIC,
    messaging::TOPIC_PUBLIC,
    messaging::TOPIC_ENCRYPTION,
    messaging::QUEUE_PUBLIC,
    messaging::QUEUE_ENCRYPTION,
];

/// Every built-in rule's metadata.
pub fn builtin_rules() -> Vec<Rule> {
    CHECKS.iter().map(|c| c.rule.to_rule()).collect()
}

/// Every item of one per-region list, with its region: `each(inv, |r| r.kms_keys.as_deref())`.
pub(crate) fn each<'a, T: 'a>(
    inv: &'a Inventory,
    list: fn(&'a crate::inventory::Regional) -> Option<&'a [T]>,
) -> impl Iterator<Item = (&'a str, &'a T)> {
    inv.regional.iter().flat_map(move |r| {
        list(r)
            .unwrap_or_default()
            .iter()
            .map(move |item| (r.region.as_str(), item))
    })
}

/// A hit for a resource policy with a statement open to everyone.
pub(crate) fn public_policy_hit(
    kind: &'static str,
    arn: &str,
    region: &str,
    what: String,
    document: Option<&serde_json::Value>,
) -> Option<Hit> {
    let document = document?;
    let public = crate::policy::public_statements(document);
    let first = public.first()?;
    Some(Hit::new(kind, arn, what).region(region).evidence(format!(
        "Principal: \"*\", Action: {}",
        crate::policy::list(first, "Action").join(", ")
    )))
}

/// Days between `then` and `now` (0 when `then` is in the future).
pub(crate) fn days_since(then: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - then).num_days().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rule_ids_are_unique_namespaced_and_documented() {
        let mut seen = HashSet::new();
        for check in CHECKS {
            let rule = &check.rule;
            assert!(rule.id.starts_with("aws."), "{}", rule.id);
            assert!(seen.insert(rule.id), "duplicate rule id {}", rule.id);
            assert!(
                !rule.title.is_empty()
                    && !rule.description.is_empty()
                    && !rule.remediation.is_empty(),
                "{} lacks text",
                rule.id
            );
        }
        assert!(CHECKS.len() >= 60, "{} checks", CHECKS.len());
    }
}
