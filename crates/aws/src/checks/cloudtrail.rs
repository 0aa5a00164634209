//! CloudTrail checks: an account-wide trail that logs, and how its logs are protected.

use palisade_core::Severity;

use super::{Check, Hit, RuleSpec, CIS_AWS, ISO, SOC2};
use crate::inventory::{Inventory, Trail, TrailSelectors};
use crate::policy;

const TRAIL: &str = "AWS::CloudTrail::Trail";
const ACCOUNT: &str = "AWS::Account";

/// Every collected trail, or `None` when no region's trails could be read.
fn trails(inv: &Inventory) -> Option<Vec<&Trail>> {
    let mut any = false;
    let mut out = Vec::new();
    for regional in &inv.regional {
        if let Some(trails) = &regional.trails {
            any = true;
            out.extend(trails.iter());
        }
    }
    any.then_some(out)
}

/// One hit per collected trail for which `failing` holds: "trail `NAME` WHAT".
fn per_trail(inv: &Inventory, failing: fn(&Trail) -> bool, what: &str, evidence: &str) -> Vec<Hit> {
    trails(inv)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| failing(t))
        .map(|t| {
            Hit::new(TRAIL, &t.arn, format!("trail `{}` {what}", t.name))
                .region(&t.home_region)
                .evidence(evidence)
        })
        .collect()
}

/// The trail's own bucket, when it is in the scanned account.
fn trail_buckets(inv: &Inventory) -> Vec<(&Trail, &str, &crate::inventory::Bucket)> {
    let buckets = inv.s3.as_ref().map_or(&[][..], |s| s.buckets.as_slice());
    trails(inv)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| {
            let name = t.s3_bucket.as_deref()?;
            Some((t, name, buckets.iter().find(|b| b.name == name)?))
        })
        .collect()
}

/// Whether every region's trails were read (so "no trail does X" is a fact).
fn all_regions_read(inv: &Inventory) -> bool {
    !inv.regional.is_empty() && inv.regional.iter().all(|r| r.trails.is_some())
}

fn account_arn(inv: &Inventory) -> String {
    let partition = if inv.partition.is_empty() {
        "aws"
    } else {
        &inv.partition
    };
    format!("arn:{partition}:cloudtrail::{}:account", inv.account_id)
}

/// An account-level check that some multi-region, logging trail satisfies `wanted`.
/// Reported only when every trail's state is known and none qualifies.
fn account_wide(
    inv: &Inventory,
    wanted: fn(&TrailSelectors) -> bool,
    message: &str,
    evidence: &str,
) -> Vec<Hit> {
    let Some(trails) = trails(inv) else {
        return vec![];
    };
    if !all_regions_read(inv) {
        return vec![];
    }
    let mut unknown = false;
    for trail in trails.iter().filter(|t| t.multi_region) {
        match (trail.is_logging, trail.selectors) {
            (Some(true), Some(selectors)) if wanted(&selectors) => return vec![],
            (None, _) | (Some(true), None) => unknown = true,
            _ => {}
        }
    }
    if unknown {
        return vec![];
    }
    vec![Hit::new(ACCOUNT, account_arn(inv), message).evidence(evidence)]
}

pub(crate) const MULTI_REGION: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.multi-region",
        title: "No multi-region CloudTrail trail logs management events",
        severity: Severity::High,
        description: "Without a logging, multi-region trail recording all management events, API activity in some regions (the ones an attacker picks) leaves no record beyond CloudTrail's 90-day event history.",
        remediation: "Create a trail with --is-multi-region-trail, management events read and write, start logging (aws cloudtrail start-logging); better, an organization trail.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/receive-cloudtrail-log-files-from-multiple-regions.html"],
        compliance: &[(CIS_AWS, "3.1"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        prowler: &["cloudtrail_multi_region_enabled", "cloudtrail_multi_region_enabled_logging_management_events"],
    },
    run: |inv, _| {
        account_wide(
            inv,
            |s| s.management_all,
            "no multi-region trail is logging all management events",
            "no trail with IsMultiRegionTrail, IsLogging and ReadWriteType All",
        )
    },
};

pub(crate) const LOGGING: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.logging",
        title: "CloudTrail trail is not logging",
        severity: Severity::High,
        description: "A trail that exists but is stopped records nothing; stopping a trail is a classic first step of an intruder (StopLogging).",
        remediation: "aws cloudtrail start-logging --name TRAIL, and alert on StopLogging events.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StartLogging.html"],
        compliance: &[(CIS_AWS, "3.1"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        prowler: &[],
    },
    run: |inv, _| per_trail(inv, |t| t.is_logging == Some(false), "is not logging", "IsLogging: false"),
};

pub(crate) const LOG_VALIDATION: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.log-validation",
        title: "CloudTrail log file validation is off",
        severity: Severity::Medium,
        description: "Log file validation writes signed digest files, so tampering with or deleting delivered logs can be detected.",
        remediation: "aws cloudtrail update-trail --name TRAIL --enable-log-file-validation.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html"],
        compliance: &[(CIS_AWS, "3.2"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        prowler: &["cloudtrail_log_file_validation_enabled"],
    },
    run: |inv, _| per_trail(inv, |t| !t.log_file_validation, "does not validate its log files", "LogFileValidationEnabled: false"),
};

pub(crate) const KMS: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.kms",
        title: "CloudTrail logs are not encrypted with KMS",
        severity: Severity::Medium,
        description: "With SSE-KMS, reading the logs requires kms:Decrypt on a key you control, in addition to S3 access: a second gate in front of a record of everything in the account.",
        remediation: "aws cloudtrail update-trail --name TRAIL --kms-key-id KEY (the key policy must let CloudTrail encrypt).",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html"],
        compliance: &[(CIS_AWS, "3.5"), (SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["cloudtrail_kms_encryption_enabled"],
    },
    run: |inv, _| per_trail(inv, |t| t.kms_key_id.is_none(), "logs are not encrypted with KMS", "KmsKeyId: none"),
};

pub(crate) const CLOUDWATCH: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.cloudwatch-logs",
        title: "CloudTrail trail does not deliver to CloudWatch Logs",
        severity: Severity::Low,
        description: "Delivering the trail to CloudWatch Logs allows metric filters and alarms on sensitive API calls (root login, policy changes, StopLogging) in near real time.",
        remediation: "aws cloudtrail update-trail --name TRAIL --cloud-watch-logs-log-group-arn ARN --cloud-watch-logs-role-arn ROLE.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.16")],
        prowler: &["cloudtrail_cloudwatch_logging_enabled"],
    },
    run: |inv, _| per_trail(inv, |t| t.cloudwatch_log_group.is_none(), "does not deliver to CloudWatch Logs", "CloudWatchLogsLogGroupArn: none"),
};

pub(crate) const BUCKET_ACCESS_LOGGING: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.bucket-access-logging",
        title: "S3 bucket of a CloudTrail trail has no access logging",
        severity: Severity::Low,
        description: "Access logging on the bucket that holds the trail's logs shows who read or deleted them. Only buckets in the scanned account are checked.",
        remediation: "Turn on server access logging for the trail's bucket, to a separate logging bucket.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html"],
        compliance: &[(CIS_AWS, "3.4"), (SOC2, "CC7.2"), (ISO, "A.8.15")],
        prowler: &["cloudtrail_logs_s3_bucket_access_logging_enabled"],
    },
    run: |inv, _| {
        trail_buckets(inv)
            .into_iter()
            .filter(|(_, _, bucket)| matches!(bucket.logging_target, Some(None)))
            .map(|(t, name, _)| {
                Hit::new(TRAIL, &t.arn, format!("the bucket `{name}` of trail `{}` has no access logging", t.name)).region(&t.home_region).evidence(format!("bucket {name}: no LoggingEnabled"))
            })
            .collect()
    },
};

pub(crate) const BUCKET_PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.bucket-public",
        title: "S3 bucket of a CloudTrail trail is public",
        severity: Severity::Critical,
        description: "A trail's bucket open through its ACL or policy publishes a record of every API call in the account: resource names, principals, IP addresses. Only buckets in the scanned account are checked.",
        remediation: "Remove the public ACL grants and policy statements from the trail's bucket and turn on its public access block.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.15")],
        prowler: &["cloudtrail_logs_s3_bucket_is_not_publicly_accessible"],
    },
    run: |inv, _| {
        trail_buckets(inv)
            .into_iter()
            .filter_map(|(t, name, bucket)| {
                let pab = bucket.public_access_block.flatten();
                let acl_public = !pab.is_some_and(|p| p.ignore_public_acls)
                    && bucket.acl.as_ref().is_some_and(|grants| grants.iter().any(|g| g.grantee_uri.as_deref().is_some_and(|u| u.ends_with("/AllUsers") || u.ends_with("/AuthenticatedUsers"))));
                let policy_public = !pab.is_some_and(|p| p.restrict_public_buckets)
                    && matches!(&bucket.policy, Some(Some(doc)) if !policy::public_statements(doc).is_empty());
                (acl_public || policy_public).then(|| {
                    let how = if acl_public { "ACL grant to everyone" } else { "policy statement for Principal \"*\"" };
                    Hit::new(TRAIL, &t.arn, format!("the bucket `{name}` of trail `{}` is public", t.name)).region(&t.home_region).evidence(format!("bucket {name}: {how}"))
                })
            })
            .collect()
    },
};

pub(crate) const S3_DATA_WRITE: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.s3-data-events-write",
        title: "No trail records S3 object-level write events",
        severity: Severity::Low,
        description: "Management events do not include PutObject or DeleteObject; without data events there is no record of who changed or deleted objects.",
        remediation: "Add an event selector for S3 data events (WriteOnly or All) on all buckets to a multi-region trail.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html"],
        compliance: &[(CIS_AWS, "3.8"), (SOC2, "CC7.2")],
        prowler: &["cloudtrail_s3_dataevents_write_enabled"],
    },
    run: |inv, _| {
        account_wide(inv, |s| s.s3_data_write, "no multi-region trail records S3 object-level write events", "no S3 data event selector with WriteOnly or All")
    },
};

pub(crate) const S3_DATA_READ: Check = Check {
    rule: RuleSpec {
        id: "aws.cloudtrail.s3-data-events-read",
        title: "No trail records S3 object-level read events",
        severity: Severity::Low,
        description: "Without S3 data read events there is no record of who downloaded which objects: after a leak, nobody can say what was taken.",
        remediation: "Add an event selector for S3 data events (ReadOnly or All) on all buckets to a multi-region trail.",
        references: &["https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html"],
        compliance: &[(CIS_AWS, "3.9"), (SOC2, "CC7.2")],
        prowler: &["cloudtrail_s3_dataevents_read_enabled"],
    },
    run: |inv, _| {
        account_wide(inv, |s| s.s3_data_read, "no multi-region trail records S3 object-level read events", "no S3 data event selector with ReadOnly or All")
    },
};
