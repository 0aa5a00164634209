//! Secrets Manager, SNS and SQS: resource policies open to everyone,
//! encryption at rest, secrets that are never rotated or never used.

use palisade_core::Severity;

use super::{days_since, each, public_policy_hit, Check, Hit, RuleSpec, ISO, SOC2};
use crate::inventory::{Inventory, Secret, SnsTopic, SqsQueue};

const SECRET: &str = "AWS::SecretsManager::Secret";
const TOPIC: &str = "AWS::SNS::Topic";
const QUEUE: &str = "AWS::SQS::Queue";
/// Days after which a secret counts as unused or not rotated (Prowler's default).
pub const SECRET_MAX_DAYS: i64 = 90;

fn secrets(inv: &Inventory) -> impl Iterator<Item = (&str, &Secret)> {
    each(inv, |r| r.secrets.as_deref())
}

fn topics(inv: &Inventory) -> impl Iterator<Item = (&str, &SnsTopic)> {
    each(inv, |r| r.sns_topics.as_deref())
}

fn queues(inv: &Inventory) -> impl Iterator<Item = (&str, &SqsQueue)> {
    each(inv, |r| r.sqs_queues.as_deref())
}

pub(crate) const SECRET_ROTATION: Check = Check {
    rule: RuleSpec {
        id: "aws.secretsmanager.rotation",
        title: "Secrets Manager secret has no automatic rotation",
        severity: Severity::Medium,
        description: "A secret that is never rotated stays valid for as long as anyone who ever read it (a departed engineer, a leaked log, a compromised build) keeps a copy.",
        remediation: "aws secretsmanager rotate-secret --secret-id SECRET --rotation-lambda-arn FUNCTION --rotation-rules AutomaticallyAfterDays=30 (managed rotation exists for RDS, Redshift and DocumentDB credentials).",
        references: &["https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17")],
        prowler: &["secretsmanager_automatic_rotation_enabled"],
    },
    run: |inv, _| {
        secrets(inv)
            .filter(|(_, s)| !s.rotation_enabled)
            .map(|(region, s)| Hit::new(SECRET, &s.arn, format!("secret {} is not rotated automatically", s.name)).region(region).evidence("RotationEnabled: false"))
            .collect()
    },
};

pub(crate) const SECRET_NOT_ROTATED: Check = Check {
    rule: RuleSpec {
        id: "aws.secretsmanager.rotated-recently",
        title: "Secrets Manager secret not rotated in 90 days",
        severity: Severity::Medium,
        description: "Rotation is configured (or was), but the secret has not actually changed for more than 90 days: rotation may be failing silently.",
        remediation: "Check the rotation function's logs, fix it, and run aws secretsmanager rotate-secret --secret-id SECRET.",
        references: &["https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17")],
        prowler: &["secretsmanager_secret_rotated_periodically"],
    },
    run: |inv, cx| {
        secrets(inv)
            .filter(|(_, s)| s.rotation_enabled)
            .filter_map(|(region, s)| {
                let since = s.last_rotated.or(s.created)?;
                let days = days_since(since, cx.now);
                (days > SECRET_MAX_DAYS).then(|| {
                    Hit::new(SECRET, &s.arn, format!("secret {} was last rotated {days} days ago", s.name))
                        .region(region)
                        .evidence(format!("LastRotatedDate: {}", since.date_naive()))
                })
            })
            .collect()
    },
};

pub(crate) const SECRET_UNUSED: Check = Check {
    rule: RuleSpec {
        id: "aws.secretsmanager.unused",
        title: "Secrets Manager secret not read in 90 days",
        severity: Severity::Low,
        description: "A secret nobody has read for 90 days is probably a credential nobody needs, and still valid wherever it works. Unused credentials are attack surface with no owner.",
        remediation: "Confirm with its owner, revoke the credential it holds, then aws secretsmanager delete-secret --secret-id SECRET --recovery-window-in-days 30.",
        references: &["https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_delete-secret.html"],
        compliance: &[(SOC2, "CC6.2"), (ISO, "A.5.18")],
        prowler: &["secretsmanager_secret_unused"],
    },
    run: |inv, cx| {
        secrets(inv)
            .filter_map(|(region, s)| {
                let since = s.last_accessed.or(s.created)?;
                let days = days_since(since, cx.now);
                (days > SECRET_MAX_DAYS).then(|| {
                    let what = if s.last_accessed.is_some() { "last read" } else { "never read, created" };
                    Hit::new(SECRET, &s.arn, format!("secret {} was {what} {days} days ago", s.name))
                        .region(region)
                        .evidence(format!("LastAccessedDate: {}", s.last_accessed.map_or("never".to_string(), |d| d.date_naive().to_string())))
                })
            })
            .collect()
    },
};

pub(crate) const SECRET_PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "aws.secretsmanager.public-policy",
        title: "Secrets Manager secret policy allows everyone",
        severity: Severity::Critical,
        description: "A resource policy statement with Principal \"*\" and no condition naming the caller lets any AWS account read or change the secret.",
        remediation: "aws secretsmanager put-resource-policy --secret-id SECRET --block-public-policy with principals narrowed to your roles (or delete-resource-policy).",
        references: &["https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.15")],
        prowler: &["secretsmanager_not_publicly_accessible"],
    },
    run: |inv, _| {
        secrets(inv)
            .filter_map(|(region, s)| public_policy_hit(SECRET, &s.arn, region, format!("the policy of secret {} allows everyone", s.name), s.policy.as_ref()))
            .collect()
    },
};

pub(crate) const TOPIC_PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "aws.sns.public-policy",
        title: "SNS topic policy allows everyone",
        severity: Severity::High,
        description: "A topic policy statement with Principal \"*\" and no condition on the caller's account or organization lets anyone publish to the topic (spam, fake alerts to every subscriber) or subscribe to what it carries.",
        remediation: "aws sns set-topic-attributes --topic-arn TOPIC --attribute-name Policy with principals narrowed to your account, or an aws:SourceAccount / aws:PrincipalOrgID condition.",
        references: &["https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.15")],
        prowler: &["sns_topics_not_publicly_accessible"],
    },
    run: |inv, _| {
        topics(inv)
            .filter_map(|(region, t)| public_policy_hit(TOPIC, &t.arn, region, format!("the policy of SNS topic {} allows everyone", t.name), t.policy.as_ref()))
            .collect()
    },
};

pub(crate) const TOPIC_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.sns.encryption",
        title: "SNS topic is not encrypted with KMS",
        severity: Severity::Low,
        description: "Messages waiting for delivery are stored unencrypted by SNS unless the topic has a KMS key; notifications often carry personal data or alert details.",
        remediation: "aws sns set-topic-attributes --topic-arn TOPIC --attribute-name KmsMasterKeyId --attribute-value alias/aws/sns (or a customer managed key).",
        references: &["https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["sns_topics_kms_encryption_at_rest_enabled"],
    },
    run: |inv, _| {
        topics(inv)
            .filter(|(_, t)| t.attributes_read && t.kms_key_id.is_none())
            .map(|(region, t)| Hit::new(TOPIC, &t.arn, format!("SNS topic {} is not encrypted at rest", t.name)).region(region).evidence("KmsMasterKeyId: none"))
            .collect()
    },
};

pub(crate) const QUEUE_PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "aws.sqs.public-policy",
        title: "SQS queue policy allows everyone",
        severity: Severity::Critical,
        description: "A queue policy statement with Principal \"*\" and no condition on the caller lets anyone send messages into the queue (feeding its consumers whatever they like) or read and delete its messages.",
        remediation: "aws sqs set-queue-attributes --queue-url URL --attributes Policy=... with principals narrowed to your account, or an aws:SourceArn / aws:PrincipalOrgID condition.",
        references: &["https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-examples-of-sqs-policies.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.15")],
        prowler: &["sqs_queues_not_publicly_accessible"],
    },
    run: |inv, _| {
        queues(inv)
            .filter_map(|(region, q)| public_policy_hit(QUEUE, &q.arn, region, format!("the policy of SQS queue {} allows everyone", q.name), q.policy.as_ref()))
            .collect()
    },
};

pub(crate) const QUEUE_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.sqs.encryption",
        title: "SQS queue has no server-side encryption",
        severity: Severity::Low,
        description: "Without SSE-SQS or SSE-KMS, messages are stored unencrypted while they wait in the queue.",
        remediation: "aws sqs set-queue-attributes --queue-url URL --attributes SqsManagedSseEnabled=true (or KmsMasterKeyId=KEY for a key you control).",
        references: &["https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["sqs_queues_server_side_encryption_enabled"],
    },
    run: |inv, _| {
        queues(inv)
            .filter(|(_, q)| q.attributes_read && q.kms_key_id.is_none() && !q.sqs_managed_sse)
            .map(|(region, q)| Hit::new(QUEUE, &q.arn, format!("SQS queue {} is not encrypted at rest", q.name)).region(region).evidence("KmsMasterKeyId: none, SqsManagedSseEnabled: false"))
            .collect()
    },
};
