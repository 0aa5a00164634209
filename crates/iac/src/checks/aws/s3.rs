//! S3 bucket checks.
//!
//! Terraform keeps most bucket settings in companion resources since AWS
//! provider v4 (`aws_s3_bucket_acl`, `aws_s3_bucket_versioning`, ...); the
//! checks accept either the legacy inline argument or the companion.

use palisade_core::Severity;
use serde_json::Value;

use super::{
    attr, fail_if, has_companion, is_off, known_str, policy, referenced, shown, unknown, CIS_AWS,
    GDPR, ISO, SOC2,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{blocks, lookup, IacResource};

const BUCKET_KINDS: &[&str] = &["aws_s3_bucket", "AWS::S3::Bucket"];

pub(crate) const ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-encryption",
        title: "S3 bucket has no default server-side encryption",
        severity: Severity::High,
        description: "Objects written without default encryption are stored in plain text unless every writer asks for encryption. Since January 2023 AWS applies SSE-S3 to new buckets, but an explicit configuration (ideally SSE-KMS with a customer managed key) documents intent and satisfies auditors.",
        remediation: "Add a server_side_encryption_configuration (or an aws_s3_bucket_server_side_encryption_configuration resource / BucketEncryption property) with sse_algorithm aws:kms or AES256.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_19"],
    },
    kind: CheckKind::PerResource {
        kinds: BUCKET_KINDS,
        run: s3_encryption,
    },
};

fn s3_encryption(bucket: &IacResource, ctx: &Context) -> Vec<Violation> {
    let encrypted = if bucket.framework.is_terraform() {
        bucket.get("server_side_encryption_configuration").is_some()
            || has_companion(
                ctx,
                "aws_s3_bucket_server_side_encryption_configuration",
                "bucket",
                bucket,
            )
    } else {
        bucket.get("BucketEncryption").is_some()
    };
    fail_if(!encrypted, || {
        Violation::new(format!(
            "S3 bucket `{}` has no default encryption configuration",
            bucket.name
        ))
    })
}

pub(crate) const KMS_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-kms-encryption",
        title: "S3 bucket is not encrypted with KMS by default",
        severity: Severity::Low,
        description: "SSE-S3 (AES256) encrypts objects with keys AWS manages and anyone with s3:GetObject can read them. SSE-KMS adds a second permission (kms:Decrypt), key usage in CloudTrail, and the ability to revoke access by disabling the key.",
        remediation: "Set apply_server_side_encryption_by_default { sse_algorithm = \"aws:kms\", kms_master_key_id = <key> } (CloudFormation: SSEAlgorithm: aws:kms with KMSMasterKeyID).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_145"],
    },
    kind: CheckKind::PerResource {
        kinds: BUCKET_KINDS,
        run: s3_kms_encryption,
    },
};

/// The default SSE algorithms a bucket declares (inline or companion); `None`
/// when one of them cannot be known.
fn sse_algorithms<'a>(bucket: &'a IacResource, ctx: &Context<'a>) -> Option<Vec<&'a Value>> {
    let mut found = Vec::new();
    if bucket.framework.is_terraform() {
        let mut configs: Vec<&Value> = blocks(bucket.get("server_side_encryption_configuration"));
        configs.extend(
            ctx.companions(
                "aws_s3_bucket_server_side_encryption_configuration",
                "bucket",
                bucket,
            )
            .map(|c| &c.attributes),
        );
        for config in configs {
            for rule in blocks(config.get("rule")) {
                for default in blocks(rule.get("apply_server_side_encryption_by_default")) {
                    found.extend(default.get("sse_algorithm"));
                }
            }
        }
    } else {
        let config = bucket.get("BucketEncryption.ServerSideEncryptionConfiguration");
        if config.is_some_and(unknown) {
            return None;
        }
        for rule in blocks(config) {
            found.extend(lookup(rule, "ServerSideEncryptionByDefault.SSEAlgorithm"));
        }
    }
    if found.iter().any(|v| unknown(v)) {
        None
    } else {
        Some(found)
    }
}

fn s3_kms_encryption(bucket: &IacResource, ctx: &Context) -> Vec<Violation> {
    let Some(algorithms) = sse_algorithms(bucket, ctx) else {
        return Vec::new();
    };
    let kms = algorithms
        .iter()
        .any(|v| v.as_str().is_some_and(|s| s.starts_with("aws:kms")));
    fail_if(!kms, || {
        let evidence = match algorithms.first() {
            Some(v) => shown(bucket, "sse_algorithm", "SSEAlgorithm", Some(v), ""),
            None => "no default encryption configuration".to_string(),
        };
        Violation::new(format!(
            "S3 bucket `{}` is not encrypted with a KMS key by default",
            bucket.name
        ))
        .evidence(evidence)
    })
}

const PUBLIC_GROUPS: &[&str] = &[
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// Which public access an ACL check looks for.
struct AclKind {
    canned_tf: &'static [&'static str],
    canned_cfn: &'static [&'static str],
    permissions: &'static [&'static str],
    what: &'static str,
}

const READ: AclKind = AclKind {
    canned_tf: &[
        "public-read",
        "public-read-write",
        "authenticated-read",
        "website",
    ],
    canned_cfn: &["PublicRead", "PublicReadWrite", "AuthenticatedRead"],
    permissions: &["READ", "READ_ACP", "FULL_CONTROL"],
    what: "read",
};

const WRITE: AclKind = AclKind {
    canned_tf: &["public-read-write"],
    canned_cfn: &["PublicReadWrite"],
    permissions: &["WRITE", "WRITE_ACP", "FULL_CONTROL"],
    what: "write",
};

/// The evidence of a public ACL on an `aws_s3_bucket` (inline `acl`/`grant`)
/// or an `aws_s3_bucket_acl` (`acl`/`access_control_policy`).
fn terraform_public_acl(resource: &IacResource, kind: &AclKind) -> Option<String> {
    if let Some(acl) = known_str(resource.get("acl")) {
        if kind.canned_tf.contains(&acl) {
            return Some(format!("acl = \"{acl}\""));
        }
    }
    let mut grants: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for grant in blocks(resource.get("grant")) {
        grants.push((
            known_str(grant.get("uri")),
            super::strings(grant.get("permissions")),
        ));
    }
    for policy in blocks(resource.get("access_control_policy")) {
        for grant in blocks(policy.get("grant")) {
            let permission = super::strings(grant.get("permission"));
            for grantee in blocks(grant.get("grantee")) {
                grants.push((known_str(grantee.get("uri")), permission.clone()));
            }
        }
    }
    grants.into_iter().find_map(|(uri, permissions)| {
        let uri = uri.filter(|u| PUBLIC_GROUPS.contains(u))?;
        let permission = permissions
            .into_iter()
            .find(|p| kind.permissions.contains(p))?;
        Some(format!("grant {permission} to {uri}"))
    })
}

fn public_acl(resource: &IacResource, ctx: &Context, kind: &AclKind) -> Vec<Violation> {
    let evidence = if !resource.framework.is_terraform() {
        known_str(resource.get("AccessControl"))
            .filter(|acl| kind.canned_cfn.contains(acl))
            .map(|acl| format!("AccessControl: {acl}"))
    } else if resource.kind == "aws_s3_bucket_acl" {
        // Reported on the bucket when the bucket is in the scan.
        let orphan = resource
            .get("bucket")
            .is_none_or(|b| referenced(ctx, "aws_s3_bucket", b).is_empty());
        if orphan {
            terraform_public_acl(resource, kind)
        } else {
            None
        }
    } else {
        terraform_public_acl(resource, kind).or_else(|| {
            ctx.companions("aws_s3_bucket_acl", "bucket", resource)
                .find_map(|acl| {
                    terraform_public_acl(acl, kind).map(|e| format!("{}: {e}", acl.address))
                })
        })
    };
    match evidence {
        Some(evidence) => vec![Violation::new(format!(
            "S3 bucket `{}` has an ACL granting public {} access",
            resource.name, kind.what
        ))
        .evidence(evidence)],
        None => Vec::new(),
    }
}

pub(crate) const PUBLIC_READ_ACL: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-public-read-acl",
        title: "S3 bucket ACL allows public read access",
        severity: Severity::High,
        description: "A canned ACL such as public-read, public-read-write or authenticated-read, or a grant to the AllUsers/AuthenticatedUsers groups, lets anyone on the internet (or any AWS account) list and read the bucket's objects. Public ACLs are the most common cause of S3 data leaks.",
        remediation: "Remove the public canned ACL (use acl = \"private\" or, better, object_ownership = \"BucketOwnerEnforced\" to disable ACLs) and enable the public access block. Serve public content through CloudFront with origin access control instead.",
        references: &[
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl",
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html",
        ],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_20"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_s3_bucket", "aws_s3_bucket_acl", "AWS::S3::Bucket"],
        run: |r, ctx| public_acl(r, ctx, &READ),
    },
};

pub(crate) const PUBLIC_WRITE_ACL: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-public-write-acl",
        title: "S3 bucket ACL allows public write access",
        severity: Severity::Critical,
        description: "The public-read-write canned ACL, or a WRITE/FULL_CONTROL grant to AllUsers/AuthenticatedUsers, lets anyone upload, overwrite or delete objects: the bucket can be used to host malware, and its data can be destroyed or poisoned.",
        remediation: "Remove the public-read-write ACL and any public WRITE grants; disable ACLs with object_ownership = \"BucketOwnerEnforced\" and enable the public access block.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_57"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_s3_bucket", "aws_s3_bucket_acl", "AWS::S3::Bucket"],
        run: |r, ctx| public_acl(r, ctx, &WRITE),
    },
};

pub(crate) const PUBLIC_POLICY: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-public-policy",
        title: "S3 bucket policy allows any principal",
        severity: Severity::High,
        description: "A bucket policy statement with Effect Allow and Principal \"*\" (or {\"AWS\": \"*\"}) and no condition that narrows the caller (organisation, account, VPC endpoint, source ARN) grants its actions to everyone on the internet.",
        remediation: "Name the principals that need access, or add a condition such as aws:PrincipalOrgID, aws:SourceVpce or aws:SourceArn. Serve public content through CloudFront with origin access control.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_70"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_s3_bucket", "aws_s3_bucket_policy", "AWS::S3::BucketPolicy"],
        run: s3_public_policy,
    },
};

fn s3_public_policy(resource: &IacResource, _: &Context) -> Vec<Violation> {
    let Some(document) = policy::parse(attr(resource, "policy", "PolicyDocument")) else {
        return Vec::new();
    };
    let public = policy::public_statements(&document);
    public
        .iter()
        .enumerate()
        .map(|(i, statement)| {
            let sid = statement.get("Sid").and_then(Value::as_str);
            let actions = policy::list(statement, "Action").join(", ");
            let label = sid
                .map(str::to_string)
                .unwrap_or_else(|| format!("statement {i}"));
            Violation::new(format!(
                "bucket policy `{}` allows any principal ({label})",
                resource.name
            ))
            .evidence(format!(
                "Effect: Allow, Principal: \"*\", Action: {actions}"
            ))
            .discriminator(label)
        })
        .collect()
}

pub(crate) const PUBLIC_ACCESS_BLOCK: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-public-access-block",
        title: "S3 bucket has no public access block",
        severity: Severity::Medium,
        description: "The bucket-level public access block overrides any ACL or policy that would make the bucket public. Without it, a single mistaken ACL or policy change exposes the data.",
        remediation: "Add an aws_s3_bucket_public_access_block for the bucket (CloudFormation: PublicAccessBlockConfiguration) with all four settings true.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3"), (GDPR, "Art. 32")],
        checkov: &["CKV2_AWS_6"],
    },
    kind: CheckKind::PerResource {
        kinds: BUCKET_KINDS,
        run: s3_public_access_block,
    },
};

fn s3_public_access_block(bucket: &IacResource, ctx: &Context) -> Vec<Violation> {
    let has_block = if bucket.framework.is_terraform() {
        has_companion(ctx, "aws_s3_bucket_public_access_block", "bucket", bucket)
    } else {
        bucket.get("PublicAccessBlockConfiguration").is_some()
    };
    fail_if(!has_block, || {
        Violation::new(format!(
            "S3 bucket `{}` has no public access block",
            bucket.name
        ))
        .evidence(if bucket.framework.is_terraform() {
            "no aws_s3_bucket_public_access_block refers to this bucket"
        } else {
            "PublicAccessBlockConfiguration not set"
        })
    })
}

/// One of the four public access block settings, false or missing.
fn block_setting(resource: &IacResource, tf: &str, cfn: &str) -> Vec<Violation> {
    let value = if resource.framework.is_terraform() {
        resource.get(tf)
    } else {
        match resource.get("PublicAccessBlockConfiguration") {
            // A bucket without a block is reported by iac.aws.s3-public-access-block.
            None => return Vec::new(),
            Some(block) if unknown(block) => return Vec::new(),
            Some(block) => block.get(cfn),
        }
    };
    fail_if(is_off(value, false), || {
        Violation::new(format!(
            "public access block of `{}` does not enable {}",
            resource.name,
            super::key(resource, tf, cfn)
        ))
        .evidence(shown(resource, tf, cfn, value, "false"))
    })
}

const BLOCK_KINDS: &[&str] = &["aws_s3_bucket_public_access_block", "AWS::S3::Bucket"];

pub(crate) const BLOCK_PUBLIC_ACLS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-block-public-acls",
        title: "S3 public access block does not block public ACLs",
        severity: Severity::Medium,
        description: "With block_public_acls off, new public ACLs can be put on the bucket and its objects, so a single upload with acl public-read publishes the object.",
        remediation: "Set block_public_acls = true (CloudFormation: BlockPublicAcls: true).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-options"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        checkov: &["CKV_AWS_53"],
    },
    kind: CheckKind::PerResource {
        kinds: BLOCK_KINDS,
        run: |r, _| block_setting(r, "block_public_acls", "BlockPublicAcls"),
    },
};

pub(crate) const BLOCK_PUBLIC_POLICY: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-block-public-policy",
        title: "S3 public access block does not block public policies",
        severity: Severity::Medium,
        description: "With block_public_policy off, a bucket policy granting public access can be attached to the bucket.",
        remediation: "Set block_public_policy = true (CloudFormation: BlockPublicPolicy: true).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-options"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        checkov: &["CKV_AWS_54"],
    },
    kind: CheckKind::PerResource {
        kinds: BLOCK_KINDS,
        run: |r, _| block_setting(r, "block_public_policy", "BlockPublicPolicy"),
    },
};

pub(crate) const IGNORE_PUBLIC_ACLS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-ignore-public-acls",
        title: "S3 public access block does not ignore public ACLs",
        severity: Severity::Medium,
        description: "With ignore_public_acls off, public ACLs already on the bucket or its objects keep granting access.",
        remediation: "Set ignore_public_acls = true (CloudFormation: IgnorePublicAcls: true).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-options"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        checkov: &["CKV_AWS_55"],
    },
    kind: CheckKind::PerResource {
        kinds: BLOCK_KINDS,
        run: |r, _| block_setting(r, "ignore_public_acls", "IgnorePublicAcls"),
    },
};

pub(crate) const RESTRICT_PUBLIC_BUCKETS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-restrict-public-buckets",
        title: "S3 public access block does not restrict public buckets",
        severity: Severity::Medium,
        description: "With restrict_public_buckets off, an existing public bucket policy keeps granting access to anonymous and cross-account principals.",
        remediation: "Set restrict_public_buckets = true (CloudFormation: RestrictPublicBuckets: true).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-options"],
        compliance: &[(CIS_AWS, "2.1.4"), (SOC2, "CC6.1"), (ISO, "A.8.3")],
        checkov: &["CKV_AWS_56"],
    },
    kind: CheckKind::PerResource {
        kinds: BLOCK_KINDS,
        run: |r, _| block_setting(r, "restrict_public_buckets", "RestrictPublicBuckets"),
    },
};

pub(crate) const VERSIONING: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-versioning",
        title: "S3 bucket versioning is not enabled",
        severity: Severity::Medium,
        description: "Without versioning, an overwrite or delete (by mistake, by a compromised credential or by ransomware) destroys the only copy of an object.",
        remediation: "Add an aws_s3_bucket_versioning resource with versioning_configuration { status = \"Enabled\" } (CloudFormation: VersioningConfiguration: { Status: Enabled }).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.13"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_21"],
    },
    kind: CheckKind::PerResource {
        kinds: BUCKET_KINDS,
        run: s3_versioning,
    },
};

fn s3_versioning(bucket: &IacResource, ctx: &Context) -> Vec<Violation> {
    if !bucket.framework.is_terraform() {
        let status = bucket.get("VersioningConfiguration.Status");
        let enabled = status.is_some_and(|s| unknown(s) || s.as_str() == Some("Enabled"))
            || bucket.get("VersioningConfiguration").is_some_and(unknown);
        return fail_if(!enabled, || {
            Violation::new(format!(
                "S3 bucket `{}` has versioning disabled",
                bucket.name
            ))
            .evidence(shown(
                bucket,
                "",
                "VersioningConfiguration.Status",
                status,
                "Suspended",
            ))
        });
    }
    let inline = bucket
        .get("versioning.0.enabled")
        .or_else(|| bucket.get("versioning.enabled"));
    if !is_off(inline, false) {
        return Vec::new();
    }
    let mut evidence = shown(bucket, "versioning.enabled", "", inline, "false");
    for companion in ctx.companions("aws_s3_bucket_versioning", "bucket", bucket) {
        let status = companion
            .get("versioning_configuration.0.status")
            .or_else(|| companion.get("versioning_configuration.status"));
        match status {
            Some(s) if unknown(s) || s.as_str() == Some("Enabled") => return Vec::new(),
            Some(s) => {
                evidence = format!(
                    "{}: versioning_configuration.status = {s}",
                    companion.address
                )
            }
            None => {}
        }
    }
    vec![Violation::new(format!(
        "S3 bucket `{}` has versioning disabled",
        bucket.name
    ))
    .evidence(evidence)]
}

pub(crate) const ACCESS_LOGGING: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-access-logging",
        title: "S3 bucket server access logging is not enabled",
        severity: Severity::Low,
        description: "Server access logs record every request made to the bucket (requester, operation, object, response). Without them, investigating a leak or misuse of the bucket's data is guesswork.",
        remediation: "Add an aws_s3_bucket_logging resource (or a logging block) with target_bucket set to a dedicated log bucket (CloudFormation: LoggingConfiguration.DestinationBucketName).",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html"],
        compliance: &[(SOC2, "CC7.2"), (ISO, "A.8.15")],
        checkov: &["CKV_AWS_18"],
    },
    kind: CheckKind::PerResource {
        kinds: BUCKET_KINDS,
        run: s3_access_logging,
    },
};

fn s3_access_logging(bucket: &IacResource, ctx: &Context) -> Vec<Violation> {
    let logged = if bucket.framework.is_terraform() {
        super::is_set(bucket.get("logging"))
            || has_companion(ctx, "aws_s3_bucket_logging", "bucket", bucket)
    } else {
        bucket.get("LoggingConfiguration").is_some()
    };
    fail_if(!logged, || {
        Violation::new(format!(
            "S3 bucket `{}` has no server access logging",
            bucket.name
        ))
        .evidence(if bucket.framework.is_terraform() {
            "no logging block or aws_s3_bucket_logging for this bucket"
        } else {
            "LoggingConfiguration not set"
        })
    })
}

pub(crate) const SECURE_TRANSPORT: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.s3-secure-transport",
        title: "S3 bucket policy does not deny plain HTTP requests",
        severity: Severity::Medium,
        description: "S3 accepts requests over HTTP unless the bucket policy denies them. A Deny statement on aws:SecureTransport = false makes every client use TLS, so data and credentials-signed requests cannot be read or altered in transit.",
        remediation: "Attach a bucket policy with a statement { Effect = \"Deny\", Principal = \"*\", Action = \"s3:*\", Resource = [bucket ARN, \"<bucket ARN>/*\"], Condition = { Bool = { \"aws:SecureTransport\" = \"false\" } } }.",
        references: &["https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit"],
        compliance: &[(CIS_AWS, "2.1.1"), (SOC2, "CC6.7"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: BUCKET_KINDS,
        run: s3_secure_transport,
    },
};

/// Whether a policy document denies requests without TLS.
fn denies_insecure_transport(document: &Value) -> bool {
    policy::statements(document).into_iter().any(|s| {
        let deny = s
            .get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("deny"));
        let condition = s.get("Condition").map(Value::to_string).unwrap_or_default();
        deny && (condition
            .to_ascii_lowercase()
            .contains("aws:securetransport")
            || condition.contains("s3:TlsVersion"))
    })
}

fn s3_secure_transport(bucket: &IacResource, ctx: &Context) -> Vec<Violation> {
    let policies: Vec<Option<&Value>> = if bucket.framework.is_terraform() {
        let mut all = vec![bucket.get("policy")];
        all.extend(
            ctx.companions("aws_s3_bucket_policy", "bucket", bucket)
                .map(|p| p.get("policy")),
        );
        all
    } else {
        ctx.companions("AWS::S3::BucketPolicy", "Bucket", bucket)
            .map(|p| p.get("PolicyDocument"))
            .collect()
    };
    let mut secured = false;
    for value in policies.into_iter().flatten().filter(|v| !v.is_null()) {
        match policy::parse(Some(value)) {
            Some(document) => secured |= denies_insecure_transport(&document),
            // A policy we cannot read (a data source, an intrinsic) may well deny it.
            None => return Vec::new(),
        }
    }
    fail_if(!secured, || {
        Violation::new(format!(
            "S3 bucket `{}` accepts requests over plain HTTP",
            bucket.name
        ))
        .evidence("no bucket policy statement denies aws:SecureTransport = false")
    })
}
