//! Serving the console: plain HTTP or TLS (rustls with the aws-lc-rs
//! provider) on one accept loop, with a header read timeout against
//! slow clients and a cap on open connections.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Longest wait for a request's headers (and for a TLS handshake).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the TLS certificate {}: {source}", path.display())]
    Certificate {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("cannot read the TLS private key {}: {source}", path.display())]
    Key {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("the TLS certificate {} holds no certificate", .0.display())]
    NoCertificate(PathBuf),
    #[error("TLS configuration refused: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot generate a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
}

/// A rustls server configuration from PEM files (certificate chain first).
pub fn tls_from_files(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, ServeError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|source| ServeError::Certificate {
            path: cert.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(ServeError::NoCertificate(cert.to_path_buf()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| ServeError::Key {
        path: key.to_path_buf(),
        source,
    })?;
    server_config(chain, key)
}

/// A self-signed certificate for `localhost` and the loopback addresses,
/// kept in `dir` (so browsers see the same one after a restart) and made on
/// first use. Returns the configuration and the certificate's file.
pub fn tls_self_signed(dir: &Path) -> Result<(rustls::ServerConfig, PathBuf), ServeError> {
    let cert_path = dir.join("tls-self-signed.crt");
    let key_path = dir.join("tls-self-signed.key");
    if !cert_path.exists() || !key_path.exists() {
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let generated = rcgen::generate_simple_self_signed(names)?;
        let write = |path: &Path, text: String, private: bool| -> Result<(), ServeError> {
            let err = |source| ServeError::Write {
                path: path.to_path_buf(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(err)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            if private {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let _ = private;
            let mut file = options.open(path).map_err(err)?;
            std::io::Write::write_all(&mut file, text.as_bytes()).map_err(err)
        };
        write(&key_path, generated.signing_key.serialize_pem(), true)?;
        write(&cert_path, generated.cert.pem(), false)?;
    }
    Ok((tls_from_files(&cert_path, &key_path)?, cert_path))
}

/// The SHA-256 fingerprint of the first certificate in a PEM file, as
/// browsers show it (`AB:CD:...`), to compare with what a browser is shown.
pub fn certificate_fingerprint(cert: &Path) -> Result<String, ServeError> {
    use sha2::{Digest, Sha256};
    let first = CertificateDer::pem_file_iter(cert)
        .and_then(|mut certs| certs.next().transpose())
        .map_err(|source| ServeError::Certificate {
            path: cert.to_path_buf(),
            source,
        })?
        .ok_or_else(|| ServeError::NoCertificate(cert.to_path_buf()))?;
    let digest = Sha256::digest(first.as_ref());
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, ServeError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `router` on `listener` until `shutdown` completes; with `tls`,
/// only TLS connections are accepted.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let acceptor = tls.map(|config| TlsAcceptor::from(Arc::new(config)));
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                router.clone().oneshot(request)
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let result = match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => http.serve_connection(TokioIo::new(tls), service).await,
                        // Failed handshakes (scanners, plain HTTP to the TLS port) are noise.
                        Ok(Err(_)) | Err(_) => return,
                    }
                }
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    Ok(())
}
