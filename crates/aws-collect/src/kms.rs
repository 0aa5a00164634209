//! KMS in one region: every key with its manager, state, spec, rotation and policy.

use aws_sdk_kms::Client;
use palisade_aws::inventory::KmsKey;
use palisade_aws::policy::decode_document;

use crate::{all_items, reason, Gaps, Recorder};

const SERVICE: &str = "kms";

pub(crate) async fn collect(client: &Client, region: &str, gaps: &Gaps) -> Option<Vec<KmsKey>> {
    let record = Recorder::new(gaps, SERVICE, Some(region));
    let listed = record
        .call("ListKeys", None, all_items!(client.list_keys()))
        .await?;
    let mut keys = Vec::new();
    for entry in &listed {
        let Some(id) = entry.key_id() else { continue };
        let metadata = match client.describe_key().key_id(id).send().await {
            Ok(out) => match out.key_metadata() {
                Some(m) => m.clone(),
                None => continue,
            },
            Err(e) => {
                record.gap("DescribeKey", Some(id), reason(&e));
                continue;
            }
        };
        let mut key = KmsKey {
            id: id.to_string(),
            arn: metadata.arn().or(entry.key_arn()).unwrap_or(id).to_string(),
            customer_managed: metadata
                .key_manager()
                .is_some_and(|m| m.as_str() == "CUSTOMER"),
            state: metadata
                .key_state()
                .map_or(String::new(), |s| s.as_str().to_string()),
            spec: metadata
                .key_spec()
                .map_or("SYMMETRIC_DEFAULT".to_string(), |s| s.as_str().to_string()),
            origin: metadata
                .origin()
                .map_or("AWS_KMS".to_string(), |o| o.as_str().to_string()),
            rotation_enabled: None,
            policy: None,
        };
        if !key.customer_managed {
            keys.push(key);
            continue;
        }
        if key.rotatable() && key.state == "Enabled" {
            match client.get_key_rotation_status().key_id(id).send().await {
                Ok(out) => key.rotation_enabled = Some(out.key_rotation_enabled()),
                Err(e) => record.gap("GetKeyRotationStatus", Some(&key.arn), reason(&e)),
            }
        }
        match client
            .get_key_policy()
            .key_id(id)
            .policy_name("default")
            .send()
            .await
        {
            Ok(out) => key.policy = out.policy().and_then(decode_document),
            Err(e) => record.gap("GetKeyPolicy", Some(&key.arn), reason(&e)),
        }
        keys.push(key);
    }
    Some(keys)
}
