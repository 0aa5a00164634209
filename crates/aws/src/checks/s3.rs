//! S3 bucket checks. A setting that could not be read is not checked.

use palisade_core::Severity;

use super::{Check, Hit, RuleSpec, CIS_AWS, ISO, SOC2};
use crate::inventory::{Bucket, Inventory};
use crate::policy;

const BUCKET: &str = "AWS::S3::Bucket";

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

fn buckets(inv: &Inventory) -> &[Bucket] {
    inv.s3.as_ref().map_or(&[], |s| s.buckets.as_slice())
}

fn hit(inv: &Inventory, bucket: &Bucket, message: String) -> Hit {
    Hit::new(BUCKET, bucket.arn(partition(inv)), message).region(&bucket.region)
}

fn partition(inv: &Inventory) -> &str {
    if inv.partition.is_empty() {
        "aws"
    } else {
        &inv.partition
    }
}

/// Whether the bucket's or the account's public access block neutralises public ACLs.
fn ignores_public_acls(inv: &Inventory, bucket: &Bucket) -> bool {
    matches!(bucket.public_access_block, Some(Some(pab)) if pab.ignore_public_acls)
        || matches!(inv.s3_account_public_access_block, Some(Some(pab)) if pab.ignore_public_acls)
}

/// Whether the bucket's or the account's public access block neutralises public policies.
fn restricts_public_buckets(inv: &Inventory, bucket: &Bucket) -> bool {
    matches!(bucket.public_access_block, Some(Some(pab)) if pab.restrict_public_buckets)
        || matches!(inv.s3_account_public_access_block, Some(Some(pab)) if pab.restrict_public_buckets)
}

/// Public ACL grants whose permission is one of `permissions`, as evidence strings.
fn public_grants(bucket: &Bucket, permissions: &[&str]) -> Vec<String> {
    let Some(grants) = &bucket.acl else {
        return vec![];
    };
    grants
        .iter()
        .filter(|g| {
            matches!(
                g.grantee_uri.as_deref(),
                Some(ALL_USERS | AUTHENTICATED_USERS)
            )
        })
        .filter(|g| permissions.contains(&g.permission.as_str()))
        .map(|g| {
            let who = if g.grantee_uri.as_deref() == Some(ALL_USERS) {
                "AllUsers"
            } else {
                "AuthenticatedUsers"
            };
            format!("{who}: {}", g.permission)
        })
        .collect()
}

pub(crate) const PUBLIC_READ_ACL: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.public-read-acl",
        title: "S3 bucket ACL lets everyone list or read",
        severity: Severity::High,
        description: "An ACL grant to AllUsers (anyone) or AuthenticatedUsers (any AWS account) with READ, READ_ACP or FULL_CONTROL exposes the bucket's listing or ACL to the internet. Not reported when the bucket's or the account's public access block ignores public ACLs.",
        remediation: "Remove the grant (aws s3api put-bucket-acl --acl private), set Object Ownership to BucketOwnerEnforced and turn on the bucket's public access block.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["s3_bucket_public_list_acl", "s3_bucket_public_access"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter(|b| !ignores_public_acls(inv, b))
            .filter_map(|b| {
                let grants = public_grants(b, &["READ", "READ_ACP", "FULL_CONTROL"]);
                (!grants.is_empty()).then(|| hit(inv, b, format!("bucket `{}` is readable by everyone through its ACL", b.name)).evidence(grants.join(", ")))
            })
            .collect()
    },
};

pub(crate) const PUBLIC_WRITE_ACL: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.public-write-acl",
        title: "S3 bucket ACL lets everyone write",
        severity: Severity::Critical,
        description: "A WRITE, WRITE_ACP or FULL_CONTROL grant to AllUsers or AuthenticatedUsers lets anyone upload, overwrite or re-permission content: malware hosting, defacement and a bill. Not reported when the bucket's or the account's public access block ignores public ACLs.",
        remediation: "Remove the grant (aws s3api put-bucket-acl --acl private), set Object Ownership to BucketOwnerEnforced and turn on the bucket's public access block.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["s3_bucket_public_write_acl"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter(|b| !ignores_public_acls(inv, b))
            .filter_map(|b| {
                let grants = public_grants(b, &["WRITE", "WRITE_ACP", "FULL_CONTROL"]);
                (!grants.is_empty()).then(|| hit(inv, b, format!("bucket `{}` is writable by everyone through its ACL", b.name)).evidence(grants.join(", ")))
            })
            .collect()
    },
};

pub(crate) const PUBLIC_POLICY: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.public-policy",
        title: "S3 bucket policy allows access to everyone",
        severity: Severity::Critical,
        description: "A bucket policy statement with Principal \"*\" and no condition naming the caller (organisation, account, VPC endpoint) opens the bucket to the internet. Not reported when the bucket's or the account's public access block restricts public buckets.",
        remediation: "Remove the public statement or add a condition (aws:PrincipalOrgID, aws:SourceVpce); serve public content through CloudFront with origin access control instead.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["s3_bucket_public_access", "s3_bucket_policy_public_write_access"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter(|b| !restricts_public_buckets(inv, b))
            .filter_map(|b| {
                let Some(Some(doc)) = &b.policy else { return None };
                let public = policy::public_statements(doc);
                let first = public.first()?;
                let actions = policy::list(first, "Action").join(", ");
                Some(hit(inv, b, format!("the policy of bucket `{}` allows everyone", b.name)).evidence(format!("Principal: \"*\", Action: {actions}")))
            })
            .collect()
    },
};

pub(crate) const PUBLIC_ACCESS_BLOCK: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.public-access-block",
        title: "S3 bucket public access block is not fully on",
        severity: Severity::Medium,
        description: "The four public access block settings stop a later ACL or policy change from making the bucket public. Without all four, one mistaken grant publishes the data.",
        remediation: "aws s3api put-public-access-block --bucket NAME --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true (or turn it on for the whole account).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["s3_bucket_level_public_access_block"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter_map(|b| match &b.public_access_block {
                Some(None) => Some(hit(inv, b, format!("bucket `{}` has no public access block", b.name)).evidence("no PublicAccessBlockConfiguration")),
                Some(Some(pab)) if !pab.all_on() => {
                    let off: Vec<&str> = [
                        ("BlockPublicAcls", pab.block_public_acls),
                        ("IgnorePublicAcls", pab.ignore_public_acls),
                        ("BlockPublicPolicy", pab.block_public_policy),
                        ("RestrictPublicBuckets", pab.restrict_public_buckets),
                    ]
                    .into_iter()
                    .filter(|(_, on)| !on)
                    .map(|(name, _)| name)
                    .collect();
                    Some(hit(inv, b, format!("the public access block of bucket `{}` is only partly on", b.name)).evidence(format!("{}: false", off.join(", "))))
                }
                _ => None,
            })
            .collect()
    },
};

pub(crate) const SECURE_TRANSPORT: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.secure-transport",
        title: "S3 bucket policy does not deny plain HTTP",
        severity: Severity::Medium,
        description: "Without a statement denying requests where aws:SecureTransport is false, clients can read and write objects over unencrypted HTTP.",
        remediation: "Add a Deny statement for Principal \"*\", Action \"s3:*\", on the bucket and its objects, with Condition {\"Bool\": {\"aws:SecureTransport\": \"false\"}}.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit"],
        compliance: &[(CIS_AWS, "2.1.1"), (SOC2, "CC6.7"), (ISO, "A.8.24")],
        prowler: &["s3_bucket_secure_transport_policy"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter_map(|b| {
                let policy = b.policy.as_ref()?;
                let denies = policy.as_ref().is_some_and(|doc| {
                    policy::statements(doc).into_iter().any(|s| {
                        !policy::allows(s)
                            && s.get("Condition")
                                .and_then(|c| c.get("Bool"))
                                .and_then(|b| b.get("aws:SecureTransport"))
                                .is_some_and(|v| v.as_str() == Some("false") || v.as_bool() == Some(false))
                    })
                });
                (!denies).then(|| hit(inv, b, format!("bucket `{}` accepts requests over plain HTTP", b.name)).evidence("no Deny with aws:SecureTransport = false"))
            })
            .collect()
    },
};

pub(crate) const MFA_DELETE: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.mfa-delete",
        title: "S3 bucket has no MFA delete",
        severity: Severity::Low,
        description: "MFA delete requires a second factor to delete object versions or change versioning, so stolen keys alone cannot destroy the history. CIS asks for it on buckets holding sensitive data.",
        remediation: "As the root user with its MFA: aws s3api put-bucket-versioning --bucket NAME --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa 'SERIAL CODE'.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html"],
        compliance: &[(CIS_AWS, "2.1.2")],
        prowler: &["s3_bucket_no_mfa_delete"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter(|b| b.versioning.is_some_and(|v| !v.mfa_delete))
            .map(|b| hit(inv, b, format!("bucket `{}` does not require MFA to delete versions", b.name)).evidence("MFADelete: Disabled"))
            .collect()
    },
};

pub(crate) const ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.encryption",
        title: "S3 bucket has no default encryption configuration",
        severity: Severity::Medium,
        description: "Since January 2023 AWS encrypts new objects with SSE-S3 anyway, but a bucket whose configuration cannot be read back as encrypted fails audits and may predate that default.",
        remediation: "aws s3api put-bucket-encryption with SSEAlgorithm aws:kms (and a customer managed key) or AES256.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["s3_bucket_default_encryption"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter(|b| b.encryption.as_ref().is_some_and(Vec::is_empty))
            .map(|b| hit(inv, b, format!("bucket `{}` has no default encryption", b.name)).evidence("no ServerSideEncryptionConfiguration"))
            .collect()
    },
};

pub(crate) const KMS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.kms-encryption",
        title: "S3 bucket is not encrypted with KMS by default",
        severity: Severity::Low,
        description: "SSE-S3 keys are managed by AWS and anyone with s3:GetObject can read. SSE-KMS adds a second permission (kms:Decrypt), key usage in CloudTrail and a way to revoke access by disabling the key.",
        remediation: "Set the bucket's default encryption to aws:kms with a customer managed key, and turn on S3 Bucket Keys to keep KMS costs down.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["s3_bucket_kms_encryption"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter_map(|b| {
                let algorithms = b.encryption.as_ref()?;
                let kms = algorithms.iter().any(|a| a.starts_with("aws:kms"));
                (!algorithms.is_empty() && !kms).then(|| hit(inv, b, format!("bucket `{}` is encrypted with S3-managed keys only", b.name)).evidence(format!("SSEAlgorithm: {}", algorithms.join(", "))))
            })
            .collect()
    },
};

pub(crate) const VERSIONING: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.versioning",
        title: "S3 bucket versioning is not enabled",
        severity: Severity::Low,
        description: "Without versioning, an overwrite or delete (by mistake, by a bug or by ransomware with stolen keys) loses the data for good.",
        remediation: "aws s3api put-bucket-versioning --bucket NAME --versioning-configuration Status=Enabled, with a lifecycle rule to expire old versions.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.13")],
        prowler: &["s3_bucket_object_versioning"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter(|b| b.versioning.is_some_and(|v| !v.enabled))
            .map(|b| hit(inv, b, format!("bucket `{}` does not keep object versions", b.name)).evidence("Versioning: not Enabled"))
            .collect()
    },
};

pub(crate) const ACCESS_LOGGING: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.access-logging",
        title: "S3 bucket server access logging is off",
        severity: Severity::Low,
        description: "Server access logs record every request to the bucket, which an investigation needs to know what was read and by whom.",
        remediation: "aws s3api put-bucket-logging --bucket NAME --bucket-logging-status with a TargetBucket dedicated to logs (or enable CloudTrail S3 data events).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.15")],
        prowler: &["s3_bucket_server_access_logging_enabled"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter(|b| matches!(b.logging_target, Some(None)))
            .map(|b| hit(inv, b, format!("bucket `{}` has no server access logging", b.name)).evidence("no LoggingEnabled"))
            .collect()
    },
};

pub(crate) const ACLS_ENABLED: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.acls-enabled",
        title: "S3 bucket still uses ACLs (Object Ownership is not BucketOwnerEnforced)",
        severity: Severity::Low,
        description: "With ACLs enabled, objects uploaded by other accounts can stay owned by them and ACL grants can silently open objects. BucketOwnerEnforced turns ACLs off and makes the bucket owner own everything.",
        remediation: "aws s3api put-bucket-ownership-controls --bucket NAME --ownership-controls Rules=[{ObjectOwnership=BucketOwnerEnforced}] after moving any ACL-based access to the bucket policy.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html"],
        compliance: &[(SOC2, "CC6.1")],
        prowler: &["s3_bucket_acl_prohibited"],
    },
    run: |inv, _| {
        buckets(inv)
            .iter()
            .filter_map(|b| {
                let ownership = b.ownership.as_ref()?;
                (ownership.as_deref() != Some("BucketOwnerEnforced")).then(|| {
                    hit(inv, b, format!("bucket `{}` has ACLs enabled", b.name))
                        .evidence(format!("ObjectOwnership: {}", ownership.as_deref().unwrap_or("not set")))
                })
            })
            .collect()
    },
};

pub(crate) const ACCOUNT_PUBLIC_ACCESS_BLOCK: Check = Check {
    rule: RuleSpec {
        id: "aws.s3.account-public-access-block",
        title: "S3 public access block is not fully on for the account",
        severity: Severity::Medium,
        description: "The account-level public access block applies to every bucket, present and future, whatever their own settings: the one switch that keeps a new bucket from being made public by mistake.",
        remediation: "aws s3control put-public-access-block --account-id ACCOUNT --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true (after moving intentionally public content behind CloudFront).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["s3_account_level_public_access_blocks"],
    },
    run: |inv, _| {
        let Some(pab) = &inv.s3_account_public_access_block else { return vec![] };
        if pab.is_some_and(|p| p.all_on()) {
            return vec![];
        }
        let evidence = match pab {
            None => "no account PublicAccessBlockConfiguration".to_string(),
            Some(p) => format!(
                "BlockPublicAcls: {}, IgnorePublicAcls: {}, BlockPublicPolicy: {}, RestrictPublicBuckets: {}",
                p.block_public_acls, p.ignore_public_acls, p.block_public_policy, p.restrict_public_buckets
            ),
        };
        vec![Hit::new("AWS::Account", format!("arn:{}:s3::{}:account", partition(inv), inv.account_id), "the account has no complete S3 public access block").evidence(evidence)]
    },
};
