//! RDS instance and cluster checks (Terraform `aws_db_instance`,
//! `aws_rds_cluster`, `aws_rds_cluster_instance`; CloudFormation
//! `AWS::RDS::DBInstance`, `AWS::RDS::DBCluster`).

use palisade_core::Severity;

use super::{
    attr, fail_if, int, is_off, is_on, is_set, known_str, shown, unknown, CIS_AWS, GDPR, ISO, SOC2,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::IacResource;

fn is_cluster(r: &IacResource) -> bool {
    matches!(r.kind.as_str(), "aws_rds_cluster" | "AWS::RDS::DBCluster")
}

/// Whether the instance belongs to an Aurora cluster (settings live on the cluster).
fn cluster_member(r: &IacResource) -> bool {
    r.kind == "aws_rds_cluster_instance"
        || (!r.framework.is_terraform() && is_set(r.get("DBClusterIdentifier")))
}

/// Whether the database is a copy (read replica, snapshot or point-in-time
/// restore) that inherits encryption and backups from its source.
fn derived(r: &IacResource) -> bool {
    let keys: &[&str] = if r.framework.is_terraform() {
        &[
            "replicate_source_db",
            "snapshot_identifier",
            "replication_source_identifier",
            "restore_to_point_in_time",
            "s3_import",
        ]
    } else {
        &[
            "SourceDBInstanceIdentifier",
            "DBSnapshotIdentifier",
            "SnapshotIdentifier",
            "SourceDBClusterIdentifier",
            "SourceDBInstanceAutomatedBackupsArn",
        ]
    };
    keys.iter().any(|k| is_set(r.get(k)))
}

fn what(r: &IacResource) -> &'static str {
    if is_cluster(r) {
        "RDS cluster"
    } else {
        "RDS instance"
    }
}

pub(crate) const PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-public",
        title: "RDS database instance is publicly accessible",
        severity: Severity::Critical,
        description: "A publicly accessible instance gets a public DNS name resolving to a public IP; combined with any permissive security group rule, the database is reachable from the internet and exposed to credential stuffing and engine exploits.",
        remediation: "Set publicly_accessible = false (CloudFormation: PubliclyAccessible: false) and reach the database from inside the VPC, through a VPN or bastion.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding"],
        compliance: &[(CIS_AWS, "2.3.3"), (SOC2, "CC6.6"), (ISO, "A.8.20"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_17"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_db_instance", "aws_rds_cluster_instance", "AWS::RDS::DBInstance"],
        run: |r, _| {
            let v = attr(r, "publicly_accessible", "PubliclyAccessible");
            fail_if(is_on(v, false), || {
                Violation::new(format!("RDS instance `{}` is publicly accessible", r.name))
                    .evidence(shown(r, "publicly_accessible", "PubliclyAccessible", v, "false"))
            })
        },
    },
};

pub(crate) const ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-encryption",
        title: "RDS storage is not encrypted",
        severity: Severity::High,
        description: "Unencrypted RDS storage leaves the database files, automated backups, snapshots and read replicas readable in the clear; encryption cannot be turned on later without a snapshot-and-restore migration.",
        remediation: "Set storage_encrypted = true (CloudFormation: StorageEncrypted: true), ideally with kms_key_id set to a customer managed key.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html"],
        compliance: &[(CIS_AWS, "2.3.1"), (SOC2, "CC6.1"), (ISO, "A.8.24"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_16", "CKV_AWS_96"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_db_instance", "aws_rds_cluster", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster"],
        run: rds_encryption,
    },
};

fn rds_encryption(r: &IacResource, _: &Context) -> Vec<Violation> {
    if cluster_member(r) || derived(r) || is_set(attr(r, "kms_key_id", "KmsKeyId")) {
        return Vec::new();
    }
    // Aurora Serverless v1 clusters are always encrypted.
    if known_str(attr(r, "engine_mode", "EngineMode")) == Some("serverless") {
        return Vec::new();
    }
    let v = attr(r, "storage_encrypted", "StorageEncrypted");
    fail_if(is_off(v, false), || {
        Violation::new(format!("{} `{}` storage is not encrypted", what(r), r.name)).evidence(
            shown(r, "storage_encrypted", "StorageEncrypted", v, "false"),
        )
    })
}

pub(crate) const BACKUP: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-backup-disabled",
        title: "RDS automated backups are disabled",
        severity: Severity::Medium,
        description: "A backup retention period of 0 turns off automated backups and point-in-time recovery: a bad migration, a deletion or ransomware means losing the data.",
        remediation: "Set backup_retention_period to at least 7 days (CloudFormation: BackupRetentionPeriod).",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.13")],
        checkov: &["CKV_AWS_133"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_db_instance", "aws_rds_cluster", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster"],
        run: |r, _| {
            if cluster_member(r) || (r.framework.is_terraform() && is_set(r.get("replicate_source_db"))) {
                return Vec::new();
            }
            let v = attr(r, "backup_retention_period", "BackupRetentionPeriod");
            if v.is_some_and(unknown) {
                return Vec::new();
            }
            fail_if(v.is_some() && !matches!(int(v), Some(1..=35)), || {
                Violation::new(format!("{} `{}` has automated backups disabled", what(r), r.name))
                    .evidence(shown(r, "backup_retention_period", "BackupRetentionPeriod", v, "1"))
            })
        },
    },
};

fn deletion_protection(r: &IacResource) -> Vec<Violation> {
    if cluster_member(r) {
        return Vec::new();
    }
    let v = attr(r, "deletion_protection", "DeletionProtection");
    fail_if(is_off(v, false), || {
        Violation::new(format!(
            "{} `{}` has no deletion protection",
            what(r),
            r.name
        ))
        .evidence(shown(
            r,
            "deletion_protection",
            "DeletionProtection",
            v,
            "false",
        ))
    })
}

pub(crate) const DELETION_PROTECTION_INSTANCE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-instance-deletion-protection",
        title: "RDS instance has no deletion protection",
        severity: Severity::Low,
        description: "Without deletion protection, a single API call or an unreviewed `terraform destroy` deletes the database.",
        remediation: "Set deletion_protection = true (CloudFormation: DeletionProtection: true).",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeleteInstance.DeletionProtection"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.13")],
        checkov: &["CKV_AWS_293"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_db_instance", "AWS::RDS::DBInstance"],
        run: |r, _| deletion_protection(r),
    },
};

pub(crate) const DELETION_PROTECTION_CLUSTER: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-cluster-deletion-protection",
        title: "RDS cluster has no deletion protection",
        severity: Severity::Low,
        description: "Without deletion protection, a single API call or an unreviewed `terraform destroy` deletes the cluster and its data.",
        remediation: "Set deletion_protection = true (CloudFormation: DeletionProtection: true).",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_DeleteCluster.html#USER_DeletionProtection"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.13")],
        checkov: &["CKV_AWS_139"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_rds_cluster", "AWS::RDS::DBCluster"],
        run: |r, _| deletion_protection(r),
    },
};

/// Whether an engine supports IAM database authentication; `None` if unknown.
fn iam_auth_engine(r: &IacResource) -> Option<bool> {
    let engine = attr(r, "engine", "Engine");
    let engine = match engine {
        // Terraform's aws_rds_cluster defaults to Aurora MySQL.
        None if r.kind == "aws_rds_cluster" => "aurora",
        None => return None,
        Some(v) if unknown(v) => return None,
        Some(v) => v.as_str()?,
    };
    let engine = engine.to_ascii_lowercase();
    Some(
        [
            "mysql",
            "postgres",
            "mariadb",
            "aurora",
            "aurora-mysql",
            "aurora-postgresql",
        ]
        .contains(&engine.as_str()),
    )
}

fn iam_auth(r: &IacResource) -> Vec<Violation> {
    if cluster_member(r) || iam_auth_engine(r) != Some(true) {
        return Vec::new();
    }
    let v = attr(
        r,
        "iam_database_authentication_enabled",
        "EnableIAMDatabaseAuthentication",
    );
    fail_if(is_off(v, false), || {
        Violation::new(format!(
            "{} `{}` does not enable IAM database authentication",
            what(r),
            r.name
        ))
        .evidence(shown(
            r,
            "iam_database_authentication_enabled",
            "EnableIAMDatabaseAuthentication",
            v,
            "false",
        ))
    })
}

pub(crate) const IAM_AUTH_INSTANCE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-instance-iam-auth",
        title: "RDS instance does not use IAM database authentication",
        severity: Severity::Low,
        description: "With IAM authentication, applications connect with short-lived tokens tied to their IAM role instead of long-lived database passwords that must be stored, shared and rotated.",
        remediation: "Set iam_database_authentication_enabled = true (CloudFormation: EnableIAMDatabaseAuthentication: true) and grant rds-db:connect to the application's role.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.5")],
        checkov: &["CKV_AWS_161"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_db_instance", "AWS::RDS::DBInstance"],
        run: |r, _| iam_auth(r),
    },
};

pub(crate) const IAM_AUTH_CLUSTER: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-cluster-iam-auth",
        title: "RDS cluster does not use IAM database authentication",
        severity: Severity::Low,
        description: "With IAM authentication, applications connect with short-lived tokens tied to their IAM role instead of long-lived database passwords that must be stored, shared and rotated.",
        remediation: "Set iam_database_authentication_enabled = true (CloudFormation: EnableIAMDatabaseAuthentication: true).",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.5")],
        checkov: &["CKV_AWS_162"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_rds_cluster", "AWS::RDS::DBCluster"],
        run: |r, _| iam_auth(r),
    },
};

pub(crate) const MULTI_AZ: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-multi-az",
        title: "RDS instance is not Multi-AZ",
        severity: Severity::Low,
        description: "A single-AZ instance is unavailable during an Availability Zone outage, storage failure or maintenance; Multi-AZ keeps a synchronous standby and fails over automatically.",
        remediation: "Set multi_az = true (CloudFormation: MultiAZ: true) for production databases.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.html"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.14")],
        checkov: &["CKV_AWS_157"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_db_instance", "AWS::RDS::DBInstance"],
        run: |r, _| {
            if cluster_member(r) || (r.framework.is_terraform() && is_set(r.get("replicate_source_db"))) {
                return Vec::new();
            }
            let v = attr(r, "multi_az", "MultiAZ");
            fail_if(is_off(v, false), || {
                Violation::new(format!("RDS instance `{}` is not Multi-AZ", r.name))
                    .evidence(shown(r, "multi_az", "MultiAZ", v, "false"))
            })
        },
    },
};

pub(crate) const MINOR_UPGRADE: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.rds-auto-minor-upgrade",
        title: "RDS automatic minor version upgrades are disabled",
        severity: Severity::Low,
        description: "Minor engine versions carry security fixes. With automatic minor upgrades off, the database stays on vulnerable versions until someone upgrades it by hand.",
        remediation: "Set auto_minor_version_upgrade = true (the default; CloudFormation: AutoMinorVersionUpgrade: true).",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.Maintenance.html#USER_UpgradeDBInstance.Maintenance.AMVU"],
        compliance: &[(CIS_AWS, "2.3.2"), (SOC2, "CC7.1"), (ISO, "A.8.8")],
        checkov: &["CKV_AWS_226"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_db_instance", "aws_rds_cluster_instance", "AWS::RDS::DBInstance"],
        run: |r, _| {
            let v = attr(r, "auto_minor_version_upgrade", "AutoMinorVersionUpgrade");
            fail_if(is_off(v, true), || {
                Violation::new(format!("RDS instance `{}` does not upgrade minor versions automatically", r.name))
                    .evidence(shown(r, "auto_minor_version_upgrade", "AutoMinorVersionUpgrade", v, "true"))
            })
        },
    },
};
