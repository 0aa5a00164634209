//! A real listener: TLS with the self-signed certificate, plain HTTP, and the
//! client address reaching the audit log.

use std::sync::Arc;

use palisade_web::server::{certificate_fingerprint, serve, tls_self_signed};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::TestApp;

async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    path: &str,
) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn serves_tls_with_the_self_signed_certificate_and_plain_http() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, cert_path) = tls_self_signed(dir.path()).expect("self-signed");
    let fingerprint = certificate_fingerprint(&cert_path).expect("fingerprint");
    assert_eq!(fingerprint.len(), 32 * 3 - 1);
    // Made once, then reused.
    tls_self_signed(dir.path()).expect("again");
    assert_eq!(certificate_fingerprint(&cert_path).unwrap(), fingerprint);

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app.router.clone(), Some(config), async {
        let _ = stopped.await;
    }));

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&cert_path).expect("pem") {
        roots.add(cert.expect("cert")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(address).await.expect("connect");
    let tls = connector
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake with the self-signed certificate");
    let reply = exchange(tls, "/healthz").await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "{reply}"
    );

    // Plain HTTP to the TLS port gets no answer.
    let tcp = TcpStream::connect(address).await.expect("connect");
    let reply = exchange(tcp, "/healthz").await;
    assert!(!reply.contains("200"), "{reply}");

    stop.send(()).expect("stop");
    server.await.expect("join").expect("served");
}

#[tokio::test]
async fn the_client_address_of_a_real_connection_reaches_the_audit_log() {
    let app = TestApp::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app.router.clone(), None, async {
        let _ = stopped.await;
    }));
    // A sign-in attempt over the socket (no CSRF cookie: refused, but a GET works).
    let reply = exchange(
        TcpStream::connect(address).await.expect("connect"),
        "/login",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let body = "username=ghost&password=whatever+whatever&csrf=".to_string();
    let mut tcp = TcpStream::connect(address).await.expect("connect");
    let token = reply
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("token")
        .to_string();
    let cookie = reply
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_string();
    let body = format!("{body}{token}");
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    let audit = app
        .store
        .list_audit(&palisade_store::AuditFilter {
            limit: 5,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(audit[0].action, "login.failure");
    assert_eq!(audit[0].source_ip.as_deref(), Some("127.0.0.1"));
    stop.send(()).expect("stop");
    server.await.expect("join").expect("served");
}
