//! CloudTrail trail checks (`aws_cloudtrail`, `AWS::CloudTrail::Trail`).

use palisade_core::Severity;

use super::{require_on, require_set, CIS_AWS, ISO, SOC2};
use crate::checks::{Check, CheckKind, RuleSpec};

const TRAIL_KINDS: &[&str] = &["aws_cloudtrail", "AWS::CloudTrail::Trail"];

pub(crate) const MULTI_REGION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudtrail-multi-region",
        title: "CloudTrail trail is not multi-region",
        severity: Severity::Medium,
        description: "A single-region trail misses API activity in every other region, which is exactly where an attacker spins up resources (crypto-mining instances in an unused region) and where global service events may not be captured.",
        remediation: "Set is_multi_region_trail = true (CloudFormation: IsMultiRegionTrail: true).",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/receive-cloudtrail-log-files-from-multiple-regions.html"],
        compliance: &[(CIS_AWS, "3.1"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_67"],
    },
    kind: CheckKind::PerResource {
        kinds: TRAIL_KINDS,
        run: |r, _| require_on(r, "is_multi_region_trail", "IsMultiRegionTrail", false, "records events in one region only"),
    },
};

pub(crate) const LOG_VALIDATION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudtrail-log-validation",
        title: "CloudTrail log file validation is disabled",
        severity: Severity::Medium,
        description: "Log file validation writes signed digest files, so tampering with or deleting delivered log files can be detected. Without it, an intruder who reaches the log bucket can rewrite history unnoticed.",
        remediation: "Set enable_log_file_validation = true (CloudFormation: EnableLogFileValidation: true).",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html"],
        compliance: &[(CIS_AWS, "3.2"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_36"],
    },
    kind: CheckKind::PerResource {
        kinds: TRAIL_KINDS,
        run: |r, _| require_on(r, "enable_log_file_validation", "EnableLogFileValidation", false, "does not validate log files"),
    },
};

pub(crate) const KMS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudtrail-kms",
        title: "CloudTrail logs are not encrypted with a KMS key",
        severity: Severity::Medium,
        description: "With SSE-KMS, reading the trail's logs needs kms:Decrypt on a customer managed key as well as access to the bucket, which adds a separately controlled and audited layer of protection around the account's audit trail.",
        remediation: "Set kms_key_id to a customer managed KMS key ARN (CloudFormation: KMSKeyId) whose policy allows CloudTrail to encrypt.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html"],
        compliance: &[(CIS_AWS, "3.5"), (SOC2, "CC6.1"), (ISO, "A.8.24"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_35"],
    },
    kind: CheckKind::PerResource {
        kinds: TRAIL_KINDS,
        run: |r, _| require_set(r, "kms_key_id", "KMSKeyId", "logs are not encrypted with a KMS key"),
    },
};

pub(crate) const LOGGING: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudtrail-logging-enabled",
        title: "CloudTrail trail is not logging",
        severity: Severity::High,
        description: "A trail with logging turned off records nothing: API activity in the account goes unaudited.",
        remediation: "Set enable_logging = true (the default; CloudFormation: IsLogging: true).",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html"],
        compliance: &[(CIS_AWS, "3.1"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_251"],
    },
    kind: CheckKind::PerResource {
        kinds: TRAIL_KINDS,
        run: |r, _| require_on(r, "enable_logging", "IsLogging", true, "has logging turned off"),
    },
};

pub(crate) const CLOUDWATCH: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.cloudtrail-cloudwatch",
        title: "CloudTrail trail is not sent to CloudWatch Logs",
        severity: Severity::Low,
        description: "Delivering the trail to CloudWatch Logs enables near real-time metric filters and alarms on sensitive API calls (root logins, IAM and security group changes); S3 delivery alone is only good for after-the-fact analysis.",
        remediation: "Set cloud_watch_logs_group_arn and cloud_watch_logs_role_arn (CloudFormation: CloudWatchLogsLogGroupArn, CloudWatchLogsRoleArn).",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.16")],
        checkov: &["CKV2_AWS_10"],
    },
    kind: CheckKind::PerResource {
        kinds: TRAIL_KINDS,
        run: |r, _| require_set(r, "cloud_watch_logs_group_arn", "CloudWatchLogsLogGroupArn", "is not integrated with CloudWatch Logs"),
    },
};
