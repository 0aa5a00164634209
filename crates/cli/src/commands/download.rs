//! HTTP(S) downloads for `palisade vulndb import URL` (OSV `all.zip`
//! exports, the CISA KEV catalogue, EPSS scores): hyper with rustls
//! (aws-lc-rs, the system's root certificates), the client the AWS SDK
//! already builds. Bodies stream to a temporary file under a size limit;
//! redirects are followed (at most 5); URLs are logged without their query
//! string or credentials, which may carry signatures.

use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{header, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Most redirects followed.
const MAX_REDIRECTS: usize = 5;
/// Longest wait for a response to start, and between two body chunks.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `source` names an http(s) URL rather than a local path.
pub fn is_url(source: &str) -> bool {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The URL as it may be shown: scheme, host and path, no credentials or query.
pub fn shown_url(url: &str) -> String {
    match url.parse::<Uri>() {
        Ok(uri) => {
            format!(
                "{}://{}{}",
                uri.scheme_str().unwrap_or("http"),
                uri.host().unwrap_or(""),
                uri.port().map_or(String::new(), |p| format!(":{p}"))
            ) + uri.path()
        }
        Err(_) => "(an unparsable URL)".to_string(),
    }
}

/// Downloads `url` into a new temporary file of at most `max_bytes`.
pub fn download(url: &str, max_bytes: u64) -> Result<tempfile::NamedTempFile> {
    let shown = shown_url(url);
    let mut file = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    let written = super::block_on(fetch(url, &shown, max_bytes, file.as_file_mut()))??;
    file.as_file_mut()
        .flush()
        .with_context(|| format!("{shown}: cannot write the download"))?;
    tracing::info!(url = %shown, bytes = written, "downloaded");
    Ok(file)
}

async fn fetch(url: &str, shown: &str, max_bytes: u64, out: &mut std::fs::File) -> Result<u64> {
    // The system's roots; certificates it cannot parse are skipped, and with
    // none at all plain http still works (https then fails naming the issuer).
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(roots = added, "system root certificates loaded");
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("cannot set up TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut uri: Uri = url
        .parse()
        .map_err(|e| anyhow!("{shown}: not a valid URL: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        let request = Request::get(uri.clone())
            .header(
                header::USER_AGENT,
                concat!("palisade/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .with_context(|| format!("{shown}: cannot build the request"))?;
        let response = tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .map_err(|_| anyhow!("{shown}: no response within {} s", TIMEOUT.as_secs()))?
            .map_err(|e| anyhow!("{shown}: {}", error_chain(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| anyhow!("{shown}: HTTP {status} without a Location"))?;
            uri = redirect_target(&uri, location)
                .ok_or_else(|| anyhow!("{shown}: HTTP {status} to an invalid Location"))?;
            continue;
        }
        if status != StatusCode::OK {
            bail!("{shown}: HTTP {status}");
        }
        if let Some(length) = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.parse::<u64>().ok())
        {
            if length > max_bytes {
                bail!("{shown}: {length} bytes, larger than the {max_bytes}-byte limit");
            }
        }
        let mut body = response.into_body();
        let mut written = 0u64;
        loop {
            let frame = tokio::time::timeout(TIMEOUT, body.frame())
                .await
                .map_err(|_| anyhow!("{shown}: the download stalled"))?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| anyhow!("{shown}: {}", error_chain(&e)))?;
            if let Ok(data) = frame.into_data() {
                written += data.len() as u64;
                if written > max_bytes {
                    bail!("{shown}: larger than the {max_bytes}-byte limit");
                }
                out.write_all(&data)
                    .with_context(|| format!("{shown}: cannot write the download"))?;
            }
        }
        return Ok(written);
    }
    bail!("{shown}: more than {MAX_REDIRECTS} redirects")
}

/// The absolute URL a `Location` header names, relative to `base`.
fn redirect_target(base: &Uri, location: &str) -> Option<Uri> {
    if is_url(location) {
        return location.parse().ok();
    }
    let authority = base.authority()?;
    let scheme = base.scheme_str()?;
    let path = if location.starts_with('/') {
        location.to_string()
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/{location}")
    };
    format!("{scheme}://{authority}{path}").parse().ok()
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_shown_without_secrets() {
        assert!(is_url(
            "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip"
        ));
        assert!(is_url("HTTP://example.com/x"));
        assert!(!is_url("all.zip"));
        assert!(!is_url("./https:/x"));
        assert_eq!(
            shown_url("https://user:pw@example.com:8443/a/b.zip?X-Amz-Signature=abc"),
            "https://example.com:8443/a/b.zip"
        );
    }

    #[test]
    fn redirects_resolve_against_the_request() {
        let base: Uri = "http://h:1/dir/file.zip".parse().expect("uri");
        assert_eq!(
            redirect_target(&base, "/x/all.zip").map(|u| u.to_string()),
            Some("http://h:1/x/all.zip".into())
        );
        assert_eq!(
            redirect_target(&base, "other.zip").map(|u| u.to_string()),
            Some("http://h:1/dir/other.zip".into())
        );
        assert_eq!(
            redirect_target(&base, "https://cdn/x").map(|u| u.to_string()),
            Some("https://cdn/x".into())
        );
    }
}
