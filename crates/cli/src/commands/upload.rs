//! `palisade scan ... --upload URL --token-env VAR`: after a local scan, send
//! its result to a palisade server (`POST /api/v1/scans`), where it goes
//! through the same lifecycle as a scan run there.
//!
//! hyper with rustls (aws-lc-rs) and the system's roots, plus `--ca-cert`
//! for a server with its own CA or a self-signed certificate. The token is
//! read from the environment and never printed or logged; plain HTTP is
//! refused except to a loopback address, so it never crosses a network in
//! clear.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{header, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use palisade_web::handlers::api::ScanUpload;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::scan::ScanResult;

/// Where `scan --upload` sends the result.
#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    /// After the scan, send the result to this palisade server (`https://host[:port]`).
    #[arg(long, value_name = "URL")]
    pub upload: Option<String>,
    /// Environment variable holding the API token (scope write-findings).
    #[arg(
        long,
        value_name = "VAR",
        default_value = "PALISADE_TOKEN",
        requires = "upload"
    )]
    pub token_env: String,
    /// Also trust this CA or self-signed certificate (PEM) for the server.
    #[arg(long, value_name = "FILE", requires = "upload")]
    pub ca_cert: Option<PathBuf>,
}

/// Longest wait for the server's answer (it records the scan first).
const TIMEOUT: Duration = Duration::from_secs(300);
const SCANS_PATH: &str = "/api/v1/scans";

/// The server's address as errors show it: scheme, host and port.
fn origin(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("https"),
        uri.host().unwrap_or(""),
        uri.port().map_or(String::new(), |p| format!(":{p}"))
    )
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The upload endpoint of `--upload URL`, refusing plain HTTP off loopback.
fn endpoint(url: &str) -> Result<Uri> {
    let base: Uri = url
        .trim()
        .parse()
        .map_err(|e| anyhow!("--upload `{url}`: not a URL: {e}"))?;
    let host = base
        .host()
        .ok_or_else(|| anyhow!("--upload `{url}`: no host"))?;
    match base.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback(host) => {}
        Some("http") => bail!(
            "--upload {}: plain HTTP would send the token in clear; use https://",
            origin(&base)
        ),
        _ => bail!("--upload `{url}`: expected an https:// URL"),
    }
    let path = base.path().trim_end_matches('/');
    format!("{}{path}{SCANS_PATH}", origin(&base))
        .parse()
        .map_err(|e| anyhow!("--upload `{url}`: {e}"))
}

fn tls_config(ca_cert: Option<&PathBuf>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_cert {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect())
            .map_err(|e| anyhow!("--ca-cert {}: {e}", path.display()))?;
        if certs.is_empty() {
            bail!("--ca-cert {}: no PEM certificate in it", path.display());
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| anyhow!("--ca-cert {}: {e}", path.display()))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("cannot set up TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// The innermost cause of a client error, which names what went wrong
/// (connection refused, unknown issuer ...).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Sends `result` to the server of `args`; prints a one-line summary on stderr.
pub fn upload(
    args: &UploadArgs,
    result: &ScanResult,
    unchecked_rules: Option<&[String]>,
    complete: bool,
) -> Result<()> {
    let Some(url) = args.upload.as_deref() else {
        return Ok(());
    };
    let uri = endpoint(url)?;
    let server = origin(&uri);
    let token = std::env::var(&args.token_env)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            anyhow!(
                "--token-env {}: the environment variable is not set or empty",
                args.token_env
            )
        })?;
    // An engine that knows which rules could not run resolves the others'
    // unseen findings, as the local record does.
    let (complete, unchecked_rules) = match unchecked_rules {
        Some(rules) if !result.partial => (true, rules.to_vec()),
        _ => (complete, Vec::new()),
    };
    let body = serde_json::to_vec(&ScanUpload {
        engine: result.engine.to_string(),
        scope: result.scope.clone(),
        started_at: result.started_at,
        finished_at: Some(chrono::Utc::now()),
        complete,
        unchecked_rules,
        output: result.output.clone(),
    })
    .context("cannot encode the scan result")?;
    let tls = tls_config(args.ca_cert.as_ref())?;
    let summary = super::block_on(send(uri, &server, token, body, tls))??;
    eprintln!("uploaded to {server}: {summary}");
    Ok(())
}

async fn send(
    uri: Uri,
    server: &str,
    token: String,
    body: Vec<u8>,
    tls: rustls::ClientConfig,
) -> Result<String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let request = Request::post(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::USER_AGENT,
            concat!("palisade/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::from(body))
        .map_err(|e| anyhow!("upload to {server}: cannot build the request: {e}"))?;
    let response = tokio::time::timeout(TIMEOUT, client.request(request))
        .await
        .map_err(|_| {
            anyhow!(
                "upload to {server}: no answer within {} s",
                TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| anyhow!("upload to {server} failed: {}", root_cause(&e)))?;
    let status = response.status();
    let bytes = tokio::time::timeout(TIMEOUT, response.into_body().collect())
        .await
        .map_err(|_| anyhow!("upload to {server}: the answer stalled"))?
        .map_err(|e| anyhow!("upload to {server}: {}", root_cause(&e)))?
        .to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if status != StatusCode::CREATED {
        let why = answer["error"]
            .as_str()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        bail!("upload to {server} refused: HTTP {status}{why}");
    }
    let count = |key: &str| answer["counts"][key].as_u64().unwrap_or(0);
    Ok(format!(
        "run {}, {} findings ({} new, {} reopened, {} resolved)",
        answer["id"],
        count("total"),
        count("new"),
        count("reopened"),
        count("resolved")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_go_to_https_or_loopback_only() {
        assert_eq!(
            endpoint("https://palisade.example.com/")
                .unwrap()
                .to_string(),
            "https://palisade.example.com/api/v1/scans"
        );
        assert_eq!(
            endpoint("https://host:8443/palisade").unwrap().to_string(),
            "https://host:8443/palisade/api/v1/scans"
        );
        assert!(endpoint("http://127.0.0.1:8080").is_ok());
        assert!(endpoint("http://[::1]:8080").is_ok());
        assert!(endpoint("http://localhost:8080").is_ok());
        let clear = endpoint("http://palisade.example.com").unwrap_err();
        assert!(clear.to_string().contains("in clear"), "{clear}");
        assert!(endpoint("ftp://host").is_err());
        assert!(endpoint("not a url").is_err());
    }
}
