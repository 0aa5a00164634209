//! KMS key checks (`aws_kms_key`, `AWS::KMS::Key`).

use palisade_core::Severity;

use super::{attr, fail_if, known_str, policy, require_on, CIS_AWS, ISO, SOC2};
use crate::checks::{Check, CheckKind, RuleSpec, Violation};

const KEY_KINDS: &[&str] = &["aws_kms_key", "AWS::KMS::Key"];

pub(crate) const ROTATION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.kms-rotation",
        title: "KMS key rotation is disabled",
        severity: Severity::Medium,
        description: "Automatic rotation replaces the key material of a symmetric customer managed key every year (or on the configured period), limiting how much data one key version protects and the impact of key material exposure.",
        remediation: "Set enable_key_rotation = true (CloudFormation: EnableKeyRotation: true).",
        references: &["https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"],
        compliance: &[(CIS_AWS, "3.6"), (SOC2, "CC6.1"), (ISO, "A.8.24")],
        checkov: &["CKV_AWS_7"],
    },
    kind: CheckKind::PerResource {
        kinds: KEY_KINDS,
        run: |r, _| {
            // Only symmetric encryption keys support automatic rotation.
            let spec = attr(r, "customer_master_key_spec", "KeySpec");
            if spec.is_some() && known_str(spec) != Some("SYMMETRIC_DEFAULT") {
                return Vec::new();
            }
            require_on(r, "enable_key_rotation", "EnableKeyRotation", false, "does not rotate its key material")
        },
    },
};

pub(crate) const WILDCARD_PRINCIPAL: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.kms-wildcard-principal",
        title: "KMS key policy allows any principal",
        severity: Severity::High,
        description: "A key policy statement with Principal \"*\" and no condition naming the caller (kms:CallerAccount, aws:PrincipalOrgID, ...) lets any AWS account use or administer the key, and decrypt whatever it protects.",
        remediation: "Name the account root or specific roles in Principal, or add conditions such as kms:CallerAccount and kms:ViaService.",
        references: &["https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.15"), (ISO, "A.8.24")],
        checkov: &["CKV_AWS_33"],
    },
    kind: CheckKind::PerResource {
        kinds: KEY_KINDS,
        run: |r, _| {
            let Some(doc) = policy::parse(attr(r, "policy", "KeyPolicy")) else {
                return Vec::new();
            };
            fail_if(!policy::public_statements(&doc).is_empty(), || {
                Violation::new(format!("key policy of `{}` allows any principal", r.name))
                    .evidence("Effect: Allow, Principal: \"*\" without a restricting condition")
            })
        },
    },
};
