//! KMS checks: rotation, public key policies, keys about to be deleted.

use palisade_core::Severity;

use super::{each, public_policy_hit, Check, Hit, RuleSpec, CIS_AWS, ISO, SOC2};
use crate::inventory::{Inventory, KmsKey};

const KEY: &str = "AWS::KMS::Key";

fn keys(inv: &Inventory) -> impl Iterator<Item = (&str, &KmsKey)> {
    each(inv, |r| r.kms_keys.as_deref())
}

pub(crate) const ROTATION: Check = Check {
    rule: RuleSpec {
        id: "aws.kms.rotation",
        title: "KMS key rotation is off",
        severity: Severity::Medium,
        description: "Automatic rotation replaces a customer managed key's material every year (or the period you set) while old ciphertext stays readable, limiting what one compromised key version exposes.",
        remediation: "aws kms enable-key-rotation --key-id KEY.",
        references: &["https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"],
        compliance: &[(CIS_AWS, "3.6"), (SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["kms_cmk_rotation_enabled"],
    },
    run: |inv, _| {
        keys(inv)
            .filter(|(_, k)| k.rotatable() && k.state == "Enabled" && k.rotation_enabled == Some(false))
            .map(|(region, k)| Hit::new(KEY, &k.arn, format!("KMS key {} does not rotate", k.id)).region(region).evidence("KeyRotationEnabled: false"))
            .collect()
    },
};

pub(crate) const PUBLIC_POLICY: Check = Check {
    rule: RuleSpec {
        id: "aws.kms.public-key-policy",
        title: "KMS key policy allows everyone",
        severity: Severity::Critical,
        description: "A key policy statement with Principal \"*\" and no condition naming the caller lets any AWS account use or manage the key, and decrypt whatever it protects.",
        remediation: "Replace Principal \"*\" with the account root or specific roles, or add kms:CallerAccount / aws:PrincipalOrgID conditions.",
        references: &["https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["kms_key_not_publicly_accessible"],
    },
    run: |inv, _| {
        keys(inv)
            .filter_map(|(region, k)| public_policy_hit(KEY, &k.arn, region, format!("the policy of KMS key {} allows everyone", k.id), k.policy.as_ref()))
            .collect()
    },
};

pub(crate) const PENDING_DELETION: Check = Check {
    rule: RuleSpec {
        id: "aws.kms.pending-deletion",
        title: "KMS key is scheduled for deletion",
        severity: Severity::Low,
        description: "Once the waiting period ends, everything encrypted under the key is unreadable for good. A scheduled deletion nobody remembers ordering can be sabotage.",
        remediation: "If the key is still needed: aws kms cancel-key-deletion --key-id KEY, then enable it again.",
        references: &["https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html"],
        compliance: &[(SOC2, "A1.2")],
        prowler: &["kms_cmk_not_deleted_unintentionally"],
    },
    run: |inv, _| {
        keys(inv)
            .filter(|(_, k)| k.customer_managed && k.state == "PendingDeletion")
            .map(|(region, k)| Hit::new(KEY, &k.arn, format!("KMS key {} is scheduled for deletion", k.id)).region(region).evidence("KeyState: PendingDeletion"))
            .collect()
    },
};
