//! ECR repository checks.

use palisade_core::Severity;

use super::{attr, fail_if, known_str, policy, require_on, shown, unknown, ISO, SOC2};
use crate::checks::{Check, CheckKind, RuleSpec, Violation};

const REPO_KINDS: &[&str] = &["aws_ecr_repository", "AWS::ECR::Repository"];

pub(crate) const SCAN_ON_PUSH: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ecr-scan-on-push",
        title: "ECR repository does not scan images on push",
        severity: Severity::Low,
        description: "Scanning on push reports known vulnerabilities in every new image before it is deployed. Without it, vulnerable images reach production unnoticed.",
        remediation: "Add image_scanning_configuration { scan_on_push = true } (CloudFormation: ImageScanningConfiguration: { ScanOnPush: true }), or enable enhanced scanning for the registry.",
        references: &["https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html"],
        compliance: &[(SOC2, "CC7.1"), (ISO, "A.8.8")],
        checkov: &["CKV_AWS_163"],
    },
    kind: CheckKind::PerResource {
        kinds: REPO_KINDS,
        run: |r, _| require_on(r, "image_scanning_configuration.0.scan_on_push", "ImageScanningConfiguration.ScanOnPush", false, "does not scan images on push"),
    },
};

pub(crate) const MUTABLE_TAGS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ecr-immutable-tags",
        title: "ECR repository allows image tags to be overwritten",
        severity: Severity::Low,
        description: "With mutable tags, pushing an image under an existing tag (v1.2.3, latest) silently replaces what deployments pull; an attacker with push access can swap a trusted image for a malicious one.",
        remediation: "Set image_tag_mutability = \"IMMUTABLE\" (CloudFormation: ImageTagMutability: IMMUTABLE) and deploy by digest.",
        references: &["https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"],
        compliance: &[(SOC2, "CC8.1"), (ISO, "A.8.9")],
        checkov: &["CKV_AWS_51"],
    },
    kind: CheckKind::PerResource {
        kinds: REPO_KINDS,
        run: |r, _| {
            let v = attr(r, "image_tag_mutability", "ImageTagMutability");
            if v.is_some_and(unknown) {
                return Vec::new();
            }
            let immutable = known_str(v).is_some_and(|m| m.starts_with("IMMUTABLE"));
            fail_if(!immutable, || {
                Violation::new(format!("ECR repository `{}` has mutable image tags", r.name))
                    .evidence(shown(r, "image_tag_mutability", "ImageTagMutability", v, "MUTABLE"))
            })
        },
    },
};

pub(crate) const KMS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ecr-kms",
        title: "ECR repository is not encrypted with KMS",
        severity: Severity::Low,
        description: "By default ECR encrypts images with AES-256 keys it manages. KMS encryption puts image access under a key policy you control and records key use in CloudTrail.",
        remediation: "Add encryption_configuration { encryption_type = \"KMS\", kms_key = <key ARN> } (CloudFormation: EncryptionConfiguration: { EncryptionType: KMS }).",
        references: &["https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        checkov: &["CKV_AWS_136"],
    },
    kind: CheckKind::PerResource {
        kinds: REPO_KINDS,
        run: |r, _| {
            let v = attr(r, "encryption_configuration.0.encryption_type", "EncryptionConfiguration.EncryptionType");
            if v.is_some_and(unknown) {
                return Vec::new();
            }
            fail_if(!known_str(v).is_some_and(|t| t.starts_with("KMS")), || {
                Violation::new(format!("ECR repository `{}` is not encrypted with KMS", r.name))
                    .evidence(shown(r, "encryption_configuration.encryption_type", "EncryptionConfiguration.EncryptionType", v, "AES256"))
            })
        },
    },
};

pub(crate) const PUBLIC_POLICY: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.ecr-public-policy",
        title: "ECR repository policy allows any principal",
        severity: Severity::High,
        description: "A repository policy statement allowing Principal \"*\" without a restricting condition lets any AWS account pull (or push to) the repository, exposing images and the secrets baked into them.",
        remediation: "Name the accounts or roles that need access in Principal, or add an aws:PrincipalOrgID condition.",
        references: &["https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.15"), (ISO, "A.8.3")],
        checkov: &["CKV_AWS_32"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_ecr_repository_policy", "AWS::ECR::Repository"],
        run: |r, _| {
            let Some(doc) = policy::parse(attr(r, "policy", "RepositoryPolicyText")) else {
                return Vec::new();
            };
            fail_if(!policy::public_statements(&doc).is_empty(), || {
                Violation::new(format!("repository policy of `{}` allows any principal", r.name))
                    .evidence("Effect: Allow, Principal: \"*\" without a restricting condition")
            })
        },
    },
};
