//! RDS checks: database instances and manual snapshots.

use palisade_core::Severity;

use super::{Check, Hit, RuleSpec, CIS_AWS, ISO, SOC2};
use crate::inventory::{DbInstance, DbSnapshot, Inventory};

const INSTANCE: &str = "AWS::RDS::DBInstance";
const SNAPSHOT: &str = "AWS::RDS::DBSnapshot";

fn instances(inv: &Inventory) -> impl Iterator<Item = (&str, &DbInstance)> {
    inv.regional.iter().flat_map(|r| {
        r.rds
            .iter()
            .flat_map(move |rds| rds.instances.iter().map(move |i| (r.region.as_str(), i)))
    })
}

fn snapshots(inv: &Inventory) -> impl Iterator<Item = (&str, &DbSnapshot)> {
    inv.regional.iter().flat_map(|r| {
        r.rds
            .iter()
            .flat_map(move |rds| rds.snapshots.iter().map(move |s| (r.region.as_str(), s)))
    })
}

/// Hits for every instance where `failing` returns evidence.
fn per_instance(
    inv: &Inventory,
    message: &str,
    failing: fn(&DbInstance) -> Option<String>,
) -> Vec<Hit> {
    instances(inv)
        .filter_map(|(region, i)| {
            let evidence = failing(i)?;
            Some(
                Hit::new(
                    INSTANCE,
                    &i.arn,
                    format!("database {} ({}) {message}", i.id, i.engine),
                )
                .region(region)
                .evidence(evidence),
            )
        })
        .collect()
}

pub(crate) const PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.public",
        title: "RDS instance is publicly accessible",
        severity: Severity::High,
        description: "A publicly accessible instance gets a public DNS name and address; only its security group stands between the database and the internet's password guessers.",
        remediation: "aws rds modify-db-instance --db-instance-identifier ID --no-publicly-accessible --apply-immediately; reach it through a bastion, VPN or Session Manager port forwarding.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding"],
        compliance: &[(CIS_AWS, "2.3.3"), (SOC2, "CC6.6"), (ISO, "A.8.20")],
        prowler: &["rds_instance_no_public_access"],
    },
    run: |inv, _| per_instance(inv, "is publicly accessible", |i| i.publicly_accessible.then(|| "PubliclyAccessible: true".to_string())),
};

pub(crate) const ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.encryption",
        title: "RDS instance storage is not encrypted",
        severity: Severity::High,
        description: "Unencrypted storage leaves the data, its automated backups, read replicas and snapshots in clear; encryption can only be added by restoring an encrypted copy.",
        remediation: "Snapshot the instance, copy the snapshot with a KMS key, restore from the encrypted copy and switch over.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html"],
        compliance: &[(CIS_AWS, "2.3.1"), (SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["rds_instance_storage_encrypted"],
    },
    run: |inv, _| per_instance(inv, "stores data unencrypted", |i| (!i.storage_encrypted).then(|| "StorageEncrypted: false".to_string())),
};

pub(crate) const MINOR_UPGRADE: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.minor-upgrade",
        title: "RDS instance does not apply minor version upgrades",
        severity: Severity::Low,
        description: "Minor versions carry security fixes; with automatic minor upgrades off, they wait for someone to remember.",
        remediation: "aws rds modify-db-instance --db-instance-identifier ID --auto-minor-version-upgrade.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.Upgrading.html#USER_UpgradeDBInstance.Upgrading.AutoMinorVersionUpgrades"],
        compliance: &[(CIS_AWS, "2.3.2"), (SOC2, "CC7.1"), (ISO, "A.8.8")],
        prowler: &["rds_instance_minor_version_upgrade_enabled"],
    },
    run: |inv, _| per_instance(inv, "does not take minor version upgrades", |i| (!i.auto_minor_version_upgrade).then(|| "AutoMinorVersionUpgrade: false".to_string())),
};

pub(crate) const BACKUP: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.backup",
        title: "RDS instance has automated backups off",
        severity: Severity::Medium,
        description: "With a backup retention of 0 days there is no point-in-time recovery: a bad migration or a deleted table is lost.",
        remediation: "aws rds modify-db-instance --db-instance-identifier ID --backup-retention-period 7 (or more).",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html"],
        compliance: &[(SOC2, "A1.2"), (ISO, "A.8.13")],
        prowler: &["rds_instance_backup_enabled"],
    },
    run: |inv, _| per_instance(inv, "has no automated backups", |i| (i.backup_retention_days <= 0).then(|| format!("BackupRetentionPeriod: {}", i.backup_retention_days))),
};

pub(crate) const DELETION_PROTECTION: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.deletion-protection",
        title: "RDS instance has deletion protection off",
        severity: Severity::Low,
        description: "Without deletion protection, one API call (or one wrong Terraform plan) deletes the database.",
        remediation: "aws rds modify-db-instance --db-instance-identifier ID --deletion-protection.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeleteInstance.DeletionProtection"],
        compliance: &[(SOC2, "A1.2")],
        prowler: &["rds_instance_deletion_protection"],
    },
    run: |inv, _| per_instance(inv, "can be deleted without turning protection off first", |i| (!i.deletion_protection).then(|| "DeletionProtection: false".to_string())),
};

pub(crate) const MULTI_AZ: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.multi-az",
        title: "RDS instance is not Multi-AZ",
        severity: Severity::Low,
        description: "A single-AZ instance is down for the whole of an AZ outage or a host failure's recovery.",
        remediation: "aws rds modify-db-instance --db-instance-identifier ID --multi-az (for production databases).",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.html"],
        compliance: &[(SOC2, "A1.2")],
        prowler: &["rds_instance_multi_az"],
    },
    run: |inv, _| per_instance(inv, "runs in a single availability zone", |i| (!i.multi_az).then(|| "MultiAZ: false".to_string())),
};

pub(crate) const SNAPSHOT_PUBLIC: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.snapshot-public",
        title: "RDS snapshot is public",
        severity: Severity::Critical,
        description: "A manual snapshot whose restore attribute includes `all` can be restored by any AWS account: the whole database, to anyone.",
        remediation: "aws rds modify-db-snapshot-attribute --db-snapshot-identifier ID --attribute-name restore --values-to-remove all.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ShareSnapshot.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["rds_snapshots_public_access"],
    },
    run: |inv, _| {
        snapshots(inv)
            .filter(|(_, s)| s.public == Some(true))
            .map(|(region, s)| Hit::new(SNAPSHOT, &s.arn, format!("database snapshot {} can be restored by any AWS account", s.id)).region(region).evidence("restore: all"))
            .collect()
    },
};

pub(crate) const SNAPSHOT_ENCRYPTION: Check = Check {
    rule: RuleSpec {
        id: "aws.rds.snapshot-encryption",
        title: "RDS snapshot is not encrypted",
        severity: Severity::Medium,
        description: "An unencrypted snapshot holds the database in clear and can be shared publicly; encrypted ones cannot.",
        remediation: "Copy the snapshot with --kms-key-id and delete the unencrypted one.",
        references: &["https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CopySnapshot.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.24")],
        prowler: &["rds_snapshots_encrypted"],
    },
    run: |inv, _| {
        snapshots(inv)
            .filter(|(_, s)| !s.encrypted)
            .map(|(region, s)| Hit::new(SNAPSHOT, &s.arn, format!("database snapshot {} is not encrypted", s.id)).region(region).evidence("Encrypted: false"))
            .collect()
    },
};
