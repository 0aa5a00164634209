//! RDS in one region: DB instances and the account's manual snapshots (with
//! the `restore` attribute that makes one public).

use aws_sdk_rds::Client;
use palisade_aws::inventory::{DbInstance, DbSnapshot, Rds};

use crate::{all_items, reason, Gaps, Recorder};

const SERVICE: &str = "rds";

pub(crate) async fn collect(client: &Client, region: &str, gaps: &Gaps) -> Option<Rds> {
    let record = Recorder::new(gaps, SERVICE, Some(region));
    let instances = record
        .call(
            "DescribeDBInstances",
            None,
            all_items!(client.describe_db_instances()),
        )
        .await?;
    let mut rds = Rds {
        instances: instances
            .iter()
            .map(|i| DbInstance {
                id: i.db_instance_identifier().unwrap_or_default().to_string(),
                arn: i.db_instance_arn().unwrap_or_default().to_string(),
                engine: i.engine().unwrap_or_default().to_string(),
                publicly_accessible: i.publicly_accessible().unwrap_or(false),
                storage_encrypted: i.storage_encrypted().unwrap_or(false),
                backup_retention_days: i.backup_retention_period().unwrap_or(0),
                auto_minor_version_upgrade: i.auto_minor_version_upgrade().unwrap_or(false),
                multi_az: i.multi_az().unwrap_or(false),
                deletion_protection: i.deletion_protection().unwrap_or(false),
            })
            .collect(),
        snapshots: Vec::new(),
    };
    match client
        .describe_db_snapshots()
        .snapshot_type("manual")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
    {
        Ok(snapshots) => {
            for s in &snapshots {
                let id = s.db_snapshot_identifier().unwrap_or_default().to_string();
                let public = match client
                    .describe_db_snapshot_attributes()
                    .db_snapshot_identifier(&id)
                    .send()
                    .await
                {
                    Ok(out) => Some(out.db_snapshot_attributes_result().is_some_and(|r| {
                        r.db_snapshot_attributes().iter().any(|a| {
                            a.attribute_name() == Some("restore")
                                && a.attribute_values().iter().any(|v| v == "all")
                        })
                    })),
                    Err(e) => {
                        record.gap("DescribeDBSnapshotAttributes", Some(&id), reason(&e));
                        None
                    }
                };
                rds.snapshots.push(DbSnapshot {
                    arn: s.db_snapshot_arn().unwrap_or_default().to_string(),
                    id,
                    encrypted: s.encrypted().unwrap_or(false),
                    public,
                });
            }
        }
        Err(e) => record.gap("DescribeDBSnapshots", None, reason(&e)),
    }
    Some(rds)
}
