//! Detection and recording services that should run in every region:
//! GuardDuty, AWS Config, Security Hub.

use palisade_core::Severity;

use super::{Check, Hit, RuleSpec, CIS_AWS, ISO, SOC2};
use crate::inventory::{Inventory, Regional};

const REGION: &str = "AWS::Region";

/// One hit per region where `state` was read and is off.
fn per_region(
    inv: &Inventory,
    service: &str,
    what: &str,
    state: fn(&Regional) -> Option<bool>,
) -> Vec<Hit> {
    let partition = if inv.partition.is_empty() {
        "aws"
    } else {
        &inv.partition
    };
    inv.regional
        .iter()
        .filter(|r| state(r) == Some(false))
        .map(|r| {
            Hit::new(
                REGION,
                format!(
                    "arn:{partition}:{service}:{}:{}:account",
                    r.region, inv.account_id
                ),
                format!("{what} is not enabled in {}", r.region),
            )
            .region(&r.region)
            .evidence(format!("{what}: off"))
        })
        .collect()
}

pub(crate) const GUARDDUTY: Check = Check {
    rule: RuleSpec {
        id: "aws.guardduty.enabled",
        title: "GuardDuty is not enabled in the region",
        severity: Severity::Medium,
        description: "GuardDuty watches CloudTrail, VPC flow logs and DNS queries for credential misuse, crypto-mining and reconnaissance. A region without it is where an intruder goes unnoticed.",
        remediation: "aws guardduty create-detector --enable in every region (or enable it for the organization from the delegated administrator).",
        references: &["https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.16")],
        prowler: &["guardduty_is_enabled"],
    },
    run: |inv, _| per_region(inv, "guardduty", "GuardDuty", |r| r.guardduty_enabled),
};

pub(crate) const CONFIG: Check = Check {
    rule: RuleSpec {
        id: "aws.config.enabled",
        title: "AWS Config is not recording in the region",
        severity: Severity::Medium,
        description: "AWS Config keeps the configuration history of resources: what changed, when, by whom. Without a recorder in a region, there is no history there to investigate or to prove compliance with.",
        remediation: "Create a configuration recorder for all resource types with a delivery channel, and start it (aws configservice start-configuration-recorder), in every region.",
        references: &["https://docs.aws.amazon.com/config/latest/developerguide/gs-console.html"],
        compliance: &[(CIS_AWS, "3.3"), (SOC2, "CC7.2"), (ISO, "A.8.9")],
        prowler: &["config_recorder_all_regions_enabled"],
    },
    run: |inv, _| per_region(inv, "config", "AWS Config recording", |r| r.config_recording),
};

pub(crate) const SECURITY_HUB: Check = Check {
    rule: RuleSpec {
        id: "aws.securityhub.enabled",
        title: "Security Hub is not enabled in the region",
        severity: Severity::Low,
        description: "Security Hub gathers the findings of GuardDuty, Inspector, Macie and Config rules in one place and runs AWS's foundational best-practice checks continuously.",
        remediation: "aws securityhub enable-security-hub in every region (or for the organization from the delegated administrator).",
        references: &["https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-settingup.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.16")],
        prowler: &["securityhub_enabled"],
    },
    run: |inv, _| per_region(inv, "securityhub", "Security Hub", |r| r.securityhub_enabled),
};
