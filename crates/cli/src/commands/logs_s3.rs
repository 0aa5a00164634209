//! `palisade logs ingest ... s3://bucket/prefix`: log objects read from S3,
//! as CloudTrail delivers them (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`).
//!
//! Objects are listed under the prefix, filtered by the same rules as local
//! files (`CloudTrail-Digest` skipped), and fetched while the lake parses:
//! each fetch runs on the lake's parse threads through a runtime of its own.
//! The manifest identity is the same as for files (source and SHA-256 of the
//! bytes), so an object is ingested once whether it was read from S3 or from
//! a local copy. The endpoint, region and credentials come from the AWS
//! default chain (`AWS_ENDPOINT_URL` points it at an emulator).

use anyhow::{bail, Context, Result};
use aws_config::{BehaviorVersion, Region};
use palisade_lake::{reads_key, InputObject, Source};

/// `s3://bucket/prefix` split, or `None` when `text` is not an S3 URL.
pub fn parse_url(text: &str) -> Option<Result<(String, String)>> {
    let rest = text.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Some(Err(anyhow::anyhow!("`{text}`: no bucket name after s3://")));
    }
    Some(Ok((bucket.to_string(), prefix.to_string())))
}

/// A client and the runtime that drives it (the lake's threads block on it).
pub struct S3Reader {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
}

impl S3Reader {
    pub fn new() -> Result<S3Reader> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let client = runtime.block_on(async {
            let mut config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            if config.region().is_none() {
                config = config.to_builder().region(Region::new("us-east-1")).build();
            }
            let mut builder = aws_sdk_s3::config::Builder::from(&config);
            if config.endpoint_url().is_some() {
                builder = builder.force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(builder.build())
        });
        Ok(S3Reader { runtime, client })
    }

    /// The keys under `prefix` that `source` reads, sorted.
    pub fn list(&self, source: Source, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        self.runtime.block_on(async {
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .into_paginator()
                .send();
            let mut keys = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| {
                    anyhow::anyhow!(
                        "cannot list s3://{bucket}/{prefix}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    )
                })?;
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|object| object.key())
                        .filter(|key| reads_key(source, key))
                        .map(str::to_string),
                );
            }
            keys.sort();
            Ok(keys)
        })
    }

    /// Fetches one object whole (CloudTrail objects are a few MB at most).
    pub fn read(&self, bucket: &str, key: &str) -> Result<InputObject, palisade_lake::Error> {
        let unreadable = |reason: String| palisade_lake::Error::Read {
            path: format!("s3://{bucket}/{key}").into(),
            source: std::io::Error::other(reason),
        };
        self.runtime.block_on(async {
            let object = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| unreadable(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
            let modified = object
                .last_modified()
                .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| unreadable(e.to_string()))?
                .into_bytes();
            Ok(InputObject::from_key(key, bytes.to_vec(), modified))
        })
    }
}

/// Refuses a mix of S3 URLs and local paths in one ingest (one manifest
/// batch reads from one place).
pub fn check_one_kind(paths: &[std::path::PathBuf]) -> Result<()> {
    let s3 = paths
        .iter()
        .filter(|p| p.to_string_lossy().starts_with("s3://"))
        .count();
    if s3 > 0 && s3 < paths.len() {
        bail!("give either s3:// URLs or local paths, not both, in one ingest");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        let parsed = |t: &str| parse_url(t).map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(
            parsed("s3://logs/AWSLogs/1/"),
            Some(Ok(("logs".into(), "AWSLogs/1/".into())))
        );
        assert_eq!(
            parsed("s3://logs"),
            Some(Ok(("logs".into(), String::new())))
        );
        assert!(matches!(parsed("s3:///x"), Some(Err(_))));
        assert_eq!(parsed("/var/log"), None);
    }
}
