//! S3: every bucket with its ACL, policy, public access block, default
//! encryption, versioning, logging and object ownership. Each bucket is read
//! through a client of its own region (S3 does not redirect across regions).

use std::collections::HashMap;

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::Client;
use palisade_aws::inventory::{Bucket, Grant, PublicAccessBlock, Versioning, S3};
use palisade_aws::policy::decode_document;
use palisade_aws::Gap;

use crate::{reason, Gaps};

const SERVICE: &str = "s3";
/// Buckets read at once.
const BUCKET_CONCURRENCY: usize = 8;

/// A client for `region`, path-style when an endpoint override (an emulator) is set.
fn client(config: &SdkConfig, region: &str) -> Client {
    let regional = config
        .to_builder()
        .region(Region::new(region.to_string()))
        .build();
    let mut builder = aws_sdk_s3::config::Builder::from(&regional);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    Client::from_conf(builder.build())
}

pub(crate) async fn collect(config: &SdkConfig, gaps: &Gaps) -> Option<S3> {
    let home = config
        .region()
        .map_or("us-east-1".to_string(), |r| r.to_string());
    let lister = client(config, &home);
    let listed = match lister
        .list_buckets()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
    {
        Ok(pages) => pages,
        Err(e) => {
            gaps.push(Gap::new(SERVICE, None, "ListBuckets", None, reason(&e)));
            return None;
        }
    };
    let mut clients: HashMap<String, Client> = HashMap::new();
    // Buckets are read a few at a time, each with its seven calls at once.
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(BUCKET_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, bucket) in listed.iter().flat_map(|page| page.buckets()).enumerate() {
        let Some(name) = bucket.name() else { continue };
        let region = match bucket.bucket_region() {
            Some(region) => region.to_string(),
            None => match lister.get_bucket_location().bucket(name).send().await {
                Ok(out) => match out.location_constraint().map(|c| c.as_str()) {
                    None | Some("") => "us-east-1".to_string(),
                    Some("EU") => "eu-west-1".to_string(),
                    Some(other) => other.to_string(),
                },
                Err(e) => {
                    gaps.push(Gap::new(
                        SERVICE,
                        None,
                        "GetBucketLocation",
                        Some(name),
                        reason(&e),
                    ));
                    home.clone()
                }
            },
        };
        let client = clients
            .entry(region.clone())
            .or_insert_with(|| client(config, &region))
            .clone();
        let (name, gaps, semaphore) = (name.to_string(), gaps.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (index, bucket_details(&client, &name, &region, &gaps).await)
        });
    }
    let mut buckets = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => buckets.push(pair),
            Err(e) => gaps.push(Gap::new(
                SERVICE,
                None,
                "*",
                None,
                format!("bucket collector failed: {e}"),
            )),
        }
    }
    buckets.sort_by_key(|(index, _)| *index);
    let buckets = buckets.into_iter().map(|(_, b)| b).collect();
    Some(S3 { buckets })
}

async fn bucket_details(client: &Client, name: &str, region: &str, gaps: &Gaps) -> Bucket {
    let gap = |operation: &str, why: String| {
        gaps.push(Gap::new(SERVICE, Some(region), operation, Some(name), why))
    };
    let mut bucket = Bucket {
        name: name.to_string(),
        region: region.to_string(),
        ..Bucket::default()
    };
    let (acl, policy, public_access_block, encryption, versioning, logging, ownership) = tokio::join!(
        client.get_bucket_acl().bucket(name).send(),
        client.get_bucket_policy().bucket(name).send(),
        client.get_public_access_block().bucket(name).send(),
        client.get_bucket_encryption().bucket(name).send(),
        client.get_bucket_versioning().bucket(name).send(),
        client.get_bucket_logging().bucket(name).send(),
        client.get_bucket_ownership_controls().bucket(name).send(),
    );
    match acl {
        Ok(out) => {
            bucket.acl = Some(
                out.grants()
                    .iter()
                    .map(|g| Grant {
                        grantee_uri: g.grantee().and_then(|e| e.uri()).map(str::to_string),
                        grantee_id: g.grantee().and_then(|e| e.id()).map(str::to_string),
                        permission: g
                            .permission()
                            .map_or(String::new(), |p| p.as_str().to_string()),
                    })
                    .collect(),
            )
        }
        Err(e) => gap("GetBucketAcl", reason(&e)),
    }
    match policy {
        Ok(out) => bucket.policy = Some(out.policy().and_then(decode_document)),
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => bucket.policy = Some(None),
        Err(e) => gap("GetBucketPolicy", reason(&e)),
    }
    match public_access_block {
        Ok(out) => {
            bucket.public_access_block =
                Some(
                    out.public_access_block_configuration()
                        .map(|c| PublicAccessBlock {
                            block_public_acls: c.block_public_acls().unwrap_or(false),
                            ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                            block_public_policy: c.block_public_policy().unwrap_or(false),
                            restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                        }),
                )
        }
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => {
            bucket.public_access_block = Some(None)
        }
        Err(e) => gap("GetPublicAccessBlock", reason(&e)),
    }
    match encryption {
        Ok(out) => {
            bucket.encryption = Some(
                out.server_side_encryption_configuration()
                    .map(|c| {
                        c.rules()
                            .iter()
                            .filter_map(|r| r.apply_server_side_encryption_by_default())
                            .map(|d| d.sse_algorithm().as_str().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        }
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            bucket.encryption = Some(Vec::new())
        }
        Err(e) => gap("GetBucketEncryption", reason(&e)),
    }
    match versioning {
        Ok(out) => {
            bucket.versioning = Some(Versioning {
                enabled: out.status().is_some_and(|s| s.as_str() == "Enabled"),
                mfa_delete: out.mfa_delete().is_some_and(|s| s.as_str() == "Enabled"),
            })
        }
        Err(e) => match e
            .raw_response()
            .and_then(|r| r.body().bytes())
            .and_then(emulator_versioning)
        {
            Some(versioning) => bucket.versioning = Some(versioning),
            None => gap("GetBucketVersioning", reason(&e)),
        },
    }
    match logging {
        Ok(out) => {
            bucket.logging_target =
                Some(out.logging_enabled().map(|l| l.target_bucket().to_string()))
        }
        Err(e) => gap("GetBucketLogging", reason(&e)),
    }
    match ownership {
        Ok(out) => {
            bucket.ownership = Some(
                out.ownership_controls()
                    .and_then(|c| c.rules().first())
                    .map(|r| r.object_ownership().as_str().to_string()),
            )
        }
        Err(e) if e.code() == Some("OwnershipControlsNotFoundError") => {
            bucket.ownership = Some(None)
        }
        Err(e) => gap("GetBucketOwnershipControls", reason(&e)),
    }
    bucket
}

/// The account-level public access block (S3 Control); `Some(None)` when none is configured.
pub(crate) async fn account_public_access_block(
    config: &SdkConfig,
    account_id: &str,
    gaps: &Gaps,
) -> Option<Option<PublicAccessBlock>> {
    let mut builder = aws_sdk_s3control::config::Builder::from(config);
    if let Some(url) = config.endpoint_url() {
        // S3 Control puts the account id in the host name; an emulator serves it at its own address.
        builder = builder.endpoint_resolver(FixedEndpoint(url.to_string()));
    }
    let client = aws_sdk_s3control::Client::from_conf(builder.build());
    match client
        .get_public_access_block()
        .account_id(account_id)
        .send()
        .await
    {
        Ok(out) => Some(
            out.public_access_block_configuration()
                .map(|c| PublicAccessBlock {
                    block_public_acls: c.block_public_acls().unwrap_or(false),
                    ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                    block_public_policy: c.block_public_policy().unwrap_or(false),
                    restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                }),
        ),
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => Some(None),
        Err(e) => {
            gaps.push(Gap::new(
                "s3control",
                None,
                "GetPublicAccessBlock",
                None,
                reason(&e),
            ));
            None
        }
    }
}

/// An endpoint resolver that always answers the configured URL.
#[derive(Debug)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// Reads moto's answer to GetBucketVersioning, which the SDK refuses.
///
/// S3 answers `<VersioningConfiguration><Status>Enabled</Status>...`; moto's
/// generic REST-XML serializer names the root `GetBucketVersioningResponse`
/// instead, and the SDK's deserializer checks the root element's name (boto3
/// does not, which is why Python tools never notice). The body is otherwise
/// the same, so it is read here; any other body stays a gap.
fn emulator_versioning(body: &[u8]) -> Option<Versioning> {
    let text = std::str::from_utf8(body).ok()?;
    let root = text
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>"))
        .map_or(text.trim_start(), |(_, rest)| rest.trim_start());
    if !root.starts_with("<GetBucketVersioningResponse") {
        return None;
    }
    let element = |name: &str| -> Option<&str> {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find('<')? + start;
        Some(text[start..end].trim())
    };
    Some(Versioning {
        enabled: element("Status") == Some("Enabled"),
        mfa_delete: element("MfaDelete") == Some("Enabled"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_emulator_versioning_answer_and_nothing_else() {
        let enabled = br#"<?xml version="1.0" encoding="utf-8"?>
<GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></GetBucketVersioningResponse>"#;
        assert_eq!(
            emulator_versioning(enabled),
            Some(Versioning {
                enabled: true,
                mfa_delete: false
            })
        );
        let never = br#"<?xml version="1.0" encoding="utf-8"?>
<GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#;
        assert_eq!(emulator_versioning(never), Some(Versioning::default()));
        let both = b"<GetBucketVersioningResponse><Status>Suspended</Status><MfaDelete>Enabled</MfaDelete></GetBucketVersioningResponse>";
        assert_eq!(
            emulator_versioning(both),
            Some(Versioning {
                enabled: false,
                mfa_delete: true
            })
        );
        // An error document or S3's own shape (which the SDK reads itself) is not taken.
        assert_eq!(
            emulator_versioning(b"<Error><Code>AccessDenied</Code></Error>"),
            None
        );
        assert_eq!(emulator_versioning(b"\xff\xfe"), None);
    }
}
