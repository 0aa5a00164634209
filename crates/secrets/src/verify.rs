//! Live checks of found credentials with their provider (`--verify`).
//!
//! Off by default: verifying sends the credential to the provider's API.
//! AWS keys are checked with STS GetCallerIdentity, which needs no
//! permission, changes nothing and tells whether the key pair is live. The
//! endpoint is the SDK's usual one, so `AWS_ENDPOINT_URL` points it at an
//! emulator. A key id is paired with the secret access key found nearest to
//! it in the same file (and commit).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sts::error::ProvideErrorMetadata;
use palisade_core::Verification;

use crate::config::VerifierRole;
use crate::detector::{Detector, SecretValue};
use crate::findings::{Collector, Occurrence};

/// Most key pairs checked in one scan, so a repository full of keys does
/// not become a flood of API calls.
const MAX_CHECKS: usize = 100;
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Error codes with which STS says the credentials themselves are wrong.
const INVALID_CREDENTIAL_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "UnrecognizedClientException",
    "ExpiredToken",
];

struct Candidate {
    id_rule: usize,
    id_hash: [u8; 32],
    secret_rule: usize,
    secret_hash: [u8; 32],
    key_id: SecretValue,
    secret: SecretValue,
}

/// Verifies the AWS key pairs among `collector`'s secrets and records the
/// outcome on both halves of each pair.
pub(crate) fn verify(collector: &mut Collector, detector: &Detector) {
    let role = |rule: usize| detector.rules()[rule].verifier;
    let mut key_ids = Vec::new();
    let mut secret_keys = Vec::new();
    for (rule, value, occurrences) in collector.secrets() {
        match role(rule) {
            Some(VerifierRole::AwsAccessKeyId) => key_ids.push((rule, value, occurrences)),
            Some(VerifierRole::AwsSecretAccessKey) => secret_keys.push((rule, value, occurrences)),
            None => {}
        }
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    for (id_rule, key_id, id_places) in &key_ids {
        let nearest = secret_keys
            .iter()
            .filter_map(|(secret_rule, secret, places)| {
                distance(id_places, places).map(|d| (d, *secret_rule, *secret, places))
            })
            .min_by_key(|(d, ..)| *d);
        if let Some((_, secret_rule, secret, places)) = nearest {
            candidates.push(Candidate {
                id_rule: *id_rule,
                id_hash: id_places[0].found.secret_hash,
                secret_rule,
                secret_hash: places[0].found.secret_hash,
                key_id: (*key_id).clone(),
                secret: secret.clone(),
            });
        }
    }
    if candidates.is_empty() {
        return;
    }
    if candidates.len() > MAX_CHECKS {
        tracing::warn!(
            pairs = candidates.len(),
            checked = MAX_CHECKS,
            "too many AWS key pairs to verify; checking the first"
        );
        candidates.truncate(MAX_CHECKS);
    }
    let outcomes = match check_aws(&candidates) {
        Ok(outcomes) => outcomes,
        Err(reason) => vec![Verification::Unknown { reason }; candidates.len()],
    };
    for (candidate, outcome) in candidates.iter().zip(outcomes) {
        collector.set_verification(candidate.id_rule, candidate.id_hash, outcome.clone());
        collector.set_verification(candidate.secret_rule, candidate.secret_hash, outcome);
    }
}

/// Lines between the closest occurrences of two secrets in one file (and
/// commit); `None` when they never share a file.
fn distance(a: &[Occurrence], b: &[Occurrence]) -> Option<u32> {
    let mut best = None;
    for x in a {
        for y in b {
            let same_place = x.path == y.path
                && x.commit.as_ref().map(|c| &c.id) == y.commit.as_ref().map(|c| &c.id);
            if same_place {
                let d = x.found.line.abs_diff(y.found.line);
                best = Some(best.map_or(d, |b: u32| b.min(d)));
            }
        }
    }
    best
}

fn check_aws(candidates: &[Candidate]) -> Result<Vec<Verification>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        // The region only picks the endpoint; STS answers the same everywhere.
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| "us-east-1".to_string());
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(CALL_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        let mut cache: HashMap<(String, String), Verification> = HashMap::new();
        let mut outcomes = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            let key = (
                candidate.key_id.expose().to_string(),
                candidate.secret.expose().to_string(),
            );
            if let Some(known) = cache.get(&key) {
                outcomes.push(known.clone());
                continue;
            }
            let outcome = caller_identity(&shared, &key.0, &key.1).await;
            cache.insert(key, outcome.clone());
            outcomes.push(outcome);
        }
        Ok(outcomes)
    })
}

async fn caller_identity(
    shared: &aws_config::SdkConfig,
    key_id: &str,
    secret: &str,
) -> Verification {
    let credentials =
        aws_sdk_sts::config::Credentials::new(key_id, secret, None, None, "palisade-verify");
    let config = aws_sdk_sts::config::Builder::from(shared)
        .credentials_provider(credentials)
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    match client.get_caller_identity().send().await {
        Ok(identity) => Verification::Verified {
            identity: identity
                .arn()
                .or(identity.account())
                .unwrap_or("unknown identity")
                .to_string(),
        },
        Err(error) => match error
            .code()
            .map(str::to_string)
            .or_else(|| code_in_body(&error))
            .as_deref()
        {
            Some(code) if INVALID_CREDENTIAL_CODES.contains(&code) => Verification::Invalid {
                reason: code.to_string(),
            },
            Some(code) => Verification::Unknown {
                reason: format!("STS answered {code}"),
            },
            None => Verification::Unknown {
                reason: format!(
                    "STS unreachable: {}",
                    first_line(&aws_sdk_sts::error::DisplayErrorContext(&error).to_string())
                ),
            },
        },
    }
}

/// The `<Code>` of an error body the SDK could not parse (emulators nest it
/// differently from STS).
fn code_in_body<E>(
    error: &aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
) -> Option<String> {
    let body = error.raw_response()?.body().bytes()?;
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    Some(text[start..end].trim().to_string())
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or(text)
        .chars()
        .take(200)
        .collect()
}
