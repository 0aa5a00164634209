//! Collects an AWS account into a [`palisade_aws::Inventory`] with the AWS
//! SDK for Rust. It owns the network side of AWS posture and nothing else:
//! no checks (those are pure functions in `palisade-aws`), no storage.
//!
//! - Credentials and region come from the SDK's default chain
//!   (environment, profiles, SSO, instance role), `--profile` selecting a
//!   profile; `AWS_ENDPOINT_URL` is honoured, so the same code runs
//!   against an emulator such as moto.
//! - Only read-only List/Get/Describe calls are made (the AWS managed
//!   `SecurityAudit` policy covers them all).
//! - A call that fails (denied, unavailable in a region, throttled past
//!   its retries, timed out) becomes a [`Gap`] in the inventory and the
//!   collection goes on: missing data is reported as "not checked", never
//!   as a pass.
//! - Every client retries with adaptive rate limiting (per client, so per
//!   service and region) and backoff; each call and each service in a
//!   region has a timeout; regions are collected concurrently, up to
//!   [`CollectOptions::concurrency`] at a time.

mod cloudtrail;
mod detection;
mod ec2;
mod eks;
mod elbv2;
mod iam;
mod kms;
mod lambda;
mod messaging;
mod organizations;
mod rds;
mod s3;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use palisade_aws::inventory::Regional;
use palisade_aws::{Gap, Inventory};

pub use organizations::organization_accounts;

/// What `collect` needs to know.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// A profile of the shared config/credentials files (`--profile`).
    pub profile: Option<String>,
    /// Regions to collect; empty means every region enabled for the account.
    pub regions: Vec<String>,
    /// Assume this role first (`--role-arn`), with this external id.
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    /// Regions collected at once.
    pub concurrency: usize,
    /// Timeout of one API call, retries included.
    pub call_timeout: Duration,
    /// Timeout of one service in one region (all its calls).
    pub service_timeout: Duration,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            profile: None,
            regions: Vec::new(),
            role_arn: None,
            external_id: None,
            concurrency: 8,
            call_timeout: Duration::from_secs(30),
            service_timeout: Duration::from_secs(300),
        }
    }
}

/// What stops a collection before it starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// STS GetCallerIdentity failed: no usable credentials, or no network.
    #[error("cannot identify the AWS account (sts:GetCallerIdentity): {0}; check the credentials (AWS_PROFILE, --profile, aws sso login) and AWS_ENDPOINT_URL")]
    Identity(String),
    /// Organizations ListAccounts failed (`--organization`).
    #[error("cannot list the accounts of the AWS Organization (organizations:ListAccounts): {0}; run it with credentials of the management account or a delegated administrator")]
    Organization(String),
}

/// Gaps recorded by concurrent collectors.
#[derive(Debug, Default, Clone)]
pub(crate) struct Gaps(Arc<Mutex<Vec<Gap>>>);

impl Gaps {
    pub(crate) fn push(&self, gap: Gap) {
        tracing::warn!(
            service = %gap.service,
            region = gap.region.as_deref().unwrap_or("global"),
            operation = %gap.operation,
            resource = gap.resource.as_deref().unwrap_or(""),
            reason = %gap.reason,
            "not checked"
        );
        if let Ok(mut gaps) = self.0.lock() {
            gaps.push(gap);
        }
    }

    fn take(&self) -> Vec<Gap> {
        self.0
            .lock()
            .map(|mut g| std::mem::take(&mut *g))
            .unwrap_or_default()
    }
}

/// Where one collector records its failed calls: its service, in one region (or global).
#[derive(Clone, Copy)]
pub(crate) struct Recorder<'a> {
    pub(crate) gaps: &'a Gaps,
    pub(crate) service: &'static str,
    pub(crate) region: Option<&'a str>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(gaps: &'a Gaps, service: &'static str, region: Option<&'a str>) -> Self {
        Self {
            gaps,
            service,
            region,
        }
    }

    pub(crate) fn gap(&self, operation: &str, resource: Option<&str>, why: String) {
        self.gaps.push(Gap::new(
            self.service,
            self.region,
            operation,
            resource,
            why,
        ));
    }

    /// Awaits one call, or a whole listing ([`all_items!`]); a failure is
    /// recorded as a gap and gives `None`.
    pub(crate) async fn call<T, E>(
        &self,
        operation: &str,
        resource: Option<&str>,
        call: impl std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Option<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match call.await {
            Ok(value) => Some(value),
            Err(e) => {
                self.gap(operation, resource, reason(&e));
                None
            }
        }
    }
}

/// Every item of a paginated listing, in one `Result`: `all_items!(client.list_topics())`.
macro_rules! all_items {
    ($request:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
    };
}
pub(crate) use all_items;

/// `Code: message` of a failed call, or the transport error.
pub(crate) fn reason<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let text = shorten(&DisplayErrorContext(error).to_string(), MAX_REASON);
            match error.raw_response().map(|r| r.status().as_u16()) {
                Some(status) => format!("HTTP {status}: {text}"),
                None => text,
            }
        }
    }
}

/// Longest error text kept in a gap: transport and parse errors carry the
/// whole raw response, which helps nobody in a report.
const MAX_REASON: usize = 240;

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// A smithy timestamp as chrono's.
pub(crate) fn time(t: &aws_sdk_iam::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

/// The SDK configuration of the default chain (or the profile), with
/// retries, timeouts and, when asked, an assumed role.
pub async fn sdk_config(options: &CollectOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(options.call_timeout / 2)
                .operation_timeout(options.call_timeout)
                .build(),
        );
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    let mut config = loader.load().await;
    if config.region().is_none() {
        config = config.to_builder().region(Region::new("us-east-1")).build();
    }
    if let Some(role_arn) = &options.role_arn {
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn.clone())
            .session_name("palisade")
            .configure(&config);
        if let Some(external_id) = &options.external_id {
            builder = builder.external_id(external_id.clone());
        }
        let provider = builder.build().await;
        config = config
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build();
    }
    config
}

/// The account id and partition of the credentials.
pub async fn identity(config: &SdkConfig) -> Result<(String, String), CollectError> {
    let client = aws_sdk_sts::Client::new(config);
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CollectError::Identity(reason(&e)))?;
    let account = out
        .account()
        .ok_or_else(|| CollectError::Identity("no account in the answer".to_string()))?
        .to_string();
    let partition = out
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string();
    Ok((account, partition))
}

/// Collects the whole inventory of the account the configuration's credentials belong to.
pub async fn collect(options: &CollectOptions) -> Result<Inventory, CollectError> {
    let config = sdk_config(options).await;
    let (account_id, partition) = identity(&config).await?;
    let gaps = Gaps::default();
    let regions = if options.regions.is_empty() {
        ec2::enabled_regions(&config, &gaps).await
    } else {
        options.regions.clone()
    };
    tracing::info!(account = %account_id, regions = regions.len(), "collecting");

    let iam_client = aws_sdk_iam::Client::new(&config);
    let limit = options.service_timeout;
    let global = async {
        tokio::join!(
            with_timeout(limit, "iam", None, &gaps, iam::collect(&iam_client, &gaps)),
            with_timeout(limit, "s3", None, &gaps, s3::collect(&config, &gaps)),
            with_timeout(
                limit,
                "s3control",
                None,
                &gaps,
                s3::account_public_access_block(&config, &account_id, &gaps)
            ),
        )
    };
    let regional = collect_regions(&config, &regions, options, &gaps);
    let ((iam, s3, account_pab), regional) = tokio::join!(global, regional);

    let mut gaps = gaps.take();
    gaps.sort_by(|a, b| {
        (&a.service, &a.region, &a.operation, &a.resource).cmp(&(
            &b.service,
            &b.region,
            &b.operation,
            &b.resource,
        ))
    });
    Ok(Inventory {
        account_id,
        partition,
        collected_at: Utc::now(),
        regions,
        iam: iam.flatten(),
        s3: s3.flatten(),
        s3_account_public_access_block: account_pab.flatten(),
        regional,
        gaps,
    })
}

/// Every region, at most `options.concurrency` at a time, in the order given.
async fn collect_regions(
    config: &SdkConfig,
    regions: &[String],
    options: &CollectOptions,
    gaps: &Gaps,
) -> Vec<Regional> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, region) in regions.iter().enumerate() {
        let config = config
            .to_builder()
            .region(Region::new(region.clone()))
            .build();
        let region = region.clone();
        let gaps = gaps.clone();
        let semaphore = semaphore.clone();
        let timeout = options.service_timeout;
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let ec2_client = aws_sdk_ec2::Client::new(&config);
            let trail_client = aws_sdk_cloudtrail::Client::new(&config);
            let kms_client = aws_sdk_kms::Client::new(&config);
            let rds_client = aws_sdk_rds::Client::new(&config);
            let lambda_client = aws_sdk_lambda::Client::new(&config);
            let elb_client = aws_sdk_elasticloadbalancingv2::Client::new(&config);
            let eks_client = aws_sdk_eks::Client::new(&config);
            let secrets_client = aws_sdk_secretsmanager::Client::new(&config);
            let sns_client = aws_sdk_sns::Client::new(&config);
            let sqs_client = aws_sdk_sqs::Client::new(&config);
            let r = Some(region.as_str());
            let (
                ec2,
                trails,
                kms_keys,
                rds,
                lambda_functions,
                guardduty,
                config_recording,
                securityhub,
                load_balancers,
                eks_clusters,
                secrets,
                sns_topics,
                sqs_queues,
            ) = tokio::join!(
                with_timeout(
                    timeout,
                    "ec2",
                    r,
                    &gaps,
                    ec2::collect(&ec2_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "cloudtrail",
                    r,
                    &gaps,
                    cloudtrail::collect(&trail_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "kms",
                    r,
                    &gaps,
                    kms::collect(&kms_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "rds",
                    r,
                    &gaps,
                    rds::collect(&rds_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "lambda",
                    r,
                    &gaps,
                    lambda::collect(&lambda_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "guardduty",
                    r,
                    &gaps,
                    detection::guardduty(&config, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "config",
                    r,
                    &gaps,
                    detection::config_recording(&config, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "securityhub",
                    r,
                    &gaps,
                    detection::securityhub(&config, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "elbv2",
                    r,
                    &gaps,
                    elbv2::collect(&elb_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "eks",
                    r,
                    &gaps,
                    eks::collect(&eks_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "secretsmanager",
                    r,
                    &gaps,
                    messaging::secrets(&secrets_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "sns",
                    r,
                    &gaps,
                    messaging::sns_topics(&sns_client, &region, &gaps)
                ),
                with_timeout(
                    timeout,
                    "sqs",
                    r,
                    &gaps,
                    messaging::sqs_queues(&sqs_client, &region, &gaps)
                ),
            );
            (
                index,
                Regional {
                    region,
                    ec2: ec2.flatten(),
                    trails: trails.flatten(),
                    kms_keys: kms_keys.flatten(),
                    rds: rds.flatten(),
                    lambda_functions: lambda_functions.flatten(),
                    guardduty_enabled: guardduty.flatten(),
                    config_recording: config_recording.flatten(),
                    securityhub_enabled: securityhub.flatten(),
                    load_balancers: load_balancers.flatten(),
                    eks_clusters: eks_clusters.flatten(),
                    secrets: secrets.flatten(),
                    sns_topics: sns_topics.flatten(),
                    sqs_queues: sqs_queues.flatten(),
                },
            )
        });
    }
    let mut out: Vec<(usize, Regional)> = Vec::with_capacity(regions.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(pair) => out.push(pair),
            Err(e) => gaps.push(Gap::new(
                "palisade",
                None,
                "collect region",
                None,
                format!("collector failed: {e}"),
            )),
        }
    }
    out.sort_by_key(|(index, _)| *index);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Runs one service's collection with a deadline; a timeout is a gap.
async fn with_timeout<T>(
    limit: Duration,
    service: &str,
    region: Option<&str>,
    gaps: &Gaps,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(value) => Some(value),
        Err(_) => {
            gaps.push(Gap::new(
                service,
                region,
                "*",
                None,
                format!("timed out after {} s", limit.as_secs()),
            ));
            None
        }
    }
}
