//! The client address behind reverse proxies (`--trusted-proxy`): what the
//! audit log records and what the per-address throttling counts.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use palisade_store::AuditFilter;
use palisade_web::client_ip::{ForwardedHeader, TrustedProxies};
use palisade_web::{ThrottlePolicy, WebConfig};

use crate::common::{Browser, TestApp};

const PROXY: &str = "10.0.0.2:443";
const STRANGER: &str = "198.51.100.7:5000";

async fn app(header: ForwardedHeader) -> TestApp {
    TestApp::with_config(WebConfig {
        hashing: palisade_web::accounts::fast_hashing_for_tests(),
        trusted_proxies: TrustedProxies::parse(&["10.0.0.0/24".into()], header).expect("cidr"),
        throttle: ThrottlePolicy {
            account_failures: 100,
            address_failures: 3,
            ..ThrottlePolicy::default()
        },
        ..WebConfig::default()
    })
    .await
}

/// A wrong passphrase for `username` from `peer` with extra headers.
async fn failed_login(
    app: &TestApp,
    peer: &str,
    username: &str,
    forwarded: &[(&str, &str)],
) -> StatusCode {
    let browser: Browser = app.login_page().await;
    let body = serde_urlencoded::to_string([
        ("csrf", browser.csrf.as_str()),
        ("username", username),
        ("password", "not the passphrase at all"),
    ])
    .expect("form");
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &browser.cookie);
    for (name, value) in forwarded {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::from(body)).expect("request");
    let peer: SocketAddr = peer.parse().expect("peer");
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send(request).await.status
}

/// The source address of the newest `login.failure` record.
async fn last_failure_ip(app: &TestApp) -> String {
    let records = app
        .store
        .list_audit(&AuditFilter {
            action_prefix: Some("login.failure".into()),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    records
        .first()
        .and_then(|r| r.source_ip.clone())
        .expect("a login.failure record")
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = app(ForwardedHeader::XForwardedFor).await;
    let spoof = [
        ("x-forwarded-for", "203.0.113.50"),
        ("forwarded", "for=203.0.113.51"),
    ];
    assert_eq!(
        failed_login(&app, STRANGER, "ann", &spoof).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(last_failure_ip(&app).await, "198.51.100.7");
    // Changing the header every time does not escape the address lock.
    for n in 0..3 {
        let fake = format!("203.0.113.{n}");
        failed_login(
            &app,
            STRANGER,
            &format!("u{n}"),
            &[("x-forwarded-for", &fake)],
        )
        .await;
    }
    assert_eq!(
        failed_login(
            &app,
            STRANGER,
            "zed",
            &[("x-forwarded-for", "203.0.113.99")]
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_chain_through_trusted_proxies_names_the_client() {
    let app = app(ForwardedHeader::XForwardedFor).await;
    // The client planted 6.6.6.6; the edge proxy appended the real address,
    // then an inner proxy (also trusted) appended the edge's.
    let chain = [("x-forwarded-for", "6.6.6.6, 198.51.100.20, 10.0.0.9")];
    failed_login(&app, PROXY, "ann", &chain).await;
    assert_eq!(last_failure_ip(&app).await, "198.51.100.20");

    // Each client behind the proxy is throttled on its own address.
    for n in 0..3 {
        let status = failed_login(
            &app,
            PROXY,
            &format!("a{n}"),
            &[("x-forwarded-for", "198.51.100.30")],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let locked = failed_login(&app, PROXY, "a9", &[("x-forwarded-for", "198.51.100.30")]).await;
    assert_eq!(locked, StatusCode::TOO_MANY_REQUESTS);
    let other = failed_login(&app, PROXY, "b1", &[("x-forwarded-for", "198.51.100.31")]).await;
    assert_eq!(
        other,
        StatusCode::UNAUTHORIZED,
        "another client is not locked"
    );
}

#[tokio::test]
async fn rfc_7239_forwarded_is_read_when_configured() {
    let app = app(ForwardedHeader::Forwarded).await;
    let chain = [
        (
            "forwarded",
            r#"for="[2001:db8::7]:4711";proto=https, for=10.0.0.9"#,
        ),
        ("x-forwarded-for", "203.0.113.50"),
    ];
    failed_login(&app, PROXY, "ann", &chain).await;
    assert_eq!(last_failure_ip(&app).await, "2001:db8::7");
}

#[tokio::test]
async fn a_malformed_header_from_a_proxy_is_ignored_without_error() {
    let app = app(ForwardedHeader::XForwardedFor).await;
    // Three: the fourth failure from the proxy's own address would be throttled.
    for bad in ["not-an-address", "198.51.100.7,,", "999.1.1.1"] {
        let status = failed_login(&app, PROXY, "ann", &[("x-forwarded-for", bad)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(last_failure_ip(&app).await, "10.0.0.2", "{bad}");
    }
}
