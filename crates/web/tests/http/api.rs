//! API tokens and the JSON API: bearer-only authentication, scopes and roles,
//! expiry, revocation (also by disabling the owner), keyset paging, scan
//! uploads through the store's lifecycle, the upload size limit, and the
//! "API tokens" page.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Duration;
use palisade_core::{Category, Finding, Resource, Rule, ScanOutput, Severity};
use palisade_store::{ApiScope, NewApiToken, Role};
use palisade_web::handlers::api::ScanUpload;
use palisade_web::secrets::token_hash;

use crate::common::{Reply, TestApp};

/// A token for `username` made directly in the store (so it may hold scopes
/// the owner's role does not allow: the guard must still refuse them).
pub async fn token_for(app: &TestApp, username: &str, scopes: &[ApiScope]) -> String {
    let user = app
        .store
        .user_by_name(username)
        .await
        .expect("user")
        .expect("exists");
    let token = format!(
        "pal_{}",
        palisade_web::secrets::random_token().expect("random")
    );
    app.store
        .create_api_token(
            &NewApiToken {
                user_id: user.id,
                name: format!("test token of {username}"),
                token_hash: token_hash(&token),
                prefix: token[..12].to_string(),
                scopes: scopes.to_vec(),
                expires_at: app.state.now() + Duration::days(30),
            },
            app.state.now(),
        )
        .await
        .expect("token");
    token
}

/// An API request with an optional bearer token, cookie and JSON body.
pub async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    cookie: Option<&str>,
    body: Option<String>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    app.send(
        request
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request"),
    )
    .await
}

fn finding(i: usize, severity: Severity) -> Finding {
    let rule = Rule {
        id: format!("upload.rule.{}", i % 3),
        title: format!("Uploaded problem {i}").into(),
        severity,
        category: Category::Misconfiguration,
        description: String::new(),
        remediation: "Fix it.".into(),
        references: vec![].into(),
        compliance: vec![].into(),
        peers: vec![],
    };
    Finding::new(
        &rule,
        Resource::in_file("aws_s3_bucket", format!("bucket-{i}"), "ci/main.tf"),
        "wrong",
    )
}

/// A scan upload of `count` findings of scope `/ci`.
pub fn upload(count: usize, complete: bool) -> String {
    serde_json::to_string(&ScanUpload {
        engine: "iac".into(),
        scope: "/ci".into(),
        started_at: chrono::Utc::now(),
        finished_at: None,
        complete,
        unchecked_rules: vec![],
        output: ScanOutput {
            findings: (0..count).map(|i| finding(i, Severity::High)).collect(),
            errors: vec![],
            inputs_scanned: 1,
        },
    })
    .expect("json")
}

fn json(reply: &Reply) -> serde_json::Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

#[tokio::test]
async fn read_tokens_page_through_findings_and_fetch_one() {
    let app = TestApp::new().await;
    app.findings(&["a", "b", "c", "d", "e"]).await;
    app.user("ci", Role::Viewer).await;
    let token = token_for(&app, "ci", &[ApiScope::Read]).await;

    let mut path = "/api/v1/findings?limit=2".to_string();
    let mut ids = Vec::new();
    loop {
        let reply = api(&app, Method::GET, &path, Some(&token), None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let page = json(&reply);
        assert_eq!(page["total"], 5);
        let findings = page["findings"].as_array().unwrap();
        assert!(findings.len() <= 2);
        ids.extend(findings.iter().map(|f| f["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/v1/findings?limit=2&{}",
                    serde_urlencoded::to_string([("after", cursor)]).unwrap()
                )
            }
            None => break,
        }
    }
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (5, 5));

    let filtered = api(
        &app,
        Method::GET,
        "/api/v1/findings?rule=test.rule.3",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(json(&filtered)["findings"].as_array().unwrap().len(), 1);
    let bad = api(
        &app,
        Method::GET,
        "/api/v1/findings?severity=huge",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(json(&bad)["error"].as_str().unwrap().contains("huge"));

    let one = api(
        &app,
        Method::GET,
        &format!("/api/v1/findings/{}", ids[0]),
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(json(&one)["id"], ids[0]);
    let missing = api(
        &app,
        Method::GET,
        "/api/v1/findings/999999",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(json(&missing)["error"], "not found");

    // Last use is recorded.
    let listed = app.store.list_api_tokens(None).await.unwrap();
    assert!(listed[0].last_used_at.is_some());
}

#[tokio::test]
async fn cookies_never_authenticate_the_api_nor_tokens_the_pages() {
    let app = TestApp::new().await;
    let admin = app.signed_in("admin", Role::Admin).await;
    let token = token_for(&app, "admin", &[ApiScope::Read, ApiScope::WriteFindings]).await;

    let with_cookie = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        None,
        Some(&admin.cookie),
        None,
    )
    .await;
    assert_eq!(with_cookie.status, StatusCode::UNAUTHORIZED);
    assert!(with_cookie.headers.contains_key(header::WWW_AUTHENTICATE));
    // A cross-site form post with the victim's cookie cannot upload.
    let forged = api(
        &app,
        Method::POST,
        "/api/v1/scans",
        None,
        Some(&admin.cookie),
        Some(upload(1, false)),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let page = api(&app, Method::GET, "/", Some(&token), None, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login"));

    for bad in [
        "Bearer pal_short",
        "Basic YWRtaW46YWRtaW4=",
        &format!("Bearer {}", "pal_".to_string() + &"0".repeat(64)),
    ] {
        let mut request = Request::get("/api/v1/findings");
        request = request.header(header::AUTHORIZATION, bad);
        let reply = app.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{bad}");
    }
}

#[tokio::test]
async fn scopes_roles_expiry_revocation_and_disabling_end_a_token() {
    let app = TestApp::new().await;
    let admin = app.signed_in("admin", Role::Admin).await;
    let analyst = app.user("analyst", Role::Analyst).await;
    app.user("viewer", Role::Viewer).await;

    let read_only = token_for(&app, "analyst", &[ApiScope::Read]).await;
    let refused = api(
        &app,
        Method::POST,
        "/api/v1/scans",
        Some(&read_only),
        None,
        Some(upload(1, false)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(json(&refused)["error"]
        .as_str()
        .unwrap()
        .contains("write-findings"));

    // A viewer's token with the write scope still cannot write: the role decides too.
    let viewer_write = token_for(&app, "viewer", &[ApiScope::Read, ApiScope::WriteFindings]).await;
    let refused = api(
        &app,
        Method::POST,
        "/api/v1/scans",
        Some(&viewer_write),
        None,
        Some(upload(1, false)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // And a write-only token cannot read.
    let write_only = token_for(&app, "analyst", &[ApiScope::WriteFindings]).await;
    let refused = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        Some(&write_only),
        None,
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Revoked by id.
    let id = app.store.list_api_tokens(Some(analyst.id)).await.unwrap()[0].id;
    app.store
        .revoke_api_token(id, None, app.state.now())
        .await
        .unwrap();
    let revoked = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        Some(&write_only),
        None,
        None,
    )
    .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);

    // Disabling the owner in the console ends their tokens at once.
    let before = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        Some(&read_only),
        None,
        None,
    )
    .await;
    assert_eq!(before.status, StatusCode::OK);
    let disabled = app
        .post(&format!("/users/{}/disable", analyst.id), Some(&admin), &[])
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.body);
    let after = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        Some(&read_only),
        None,
        None,
    )
    .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    app.post(&format!("/users/{}/enable", analyst.id), Some(&admin), &[])
        .await;
    let still = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        Some(&read_only),
        None,
        None,
    )
    .await;
    assert_eq!(
        still.status,
        StatusCode::UNAUTHORIZED,
        "re-enabling does not revive tokens"
    );

    // Expiry.
    let fresh = token_for(&app, "viewer", &[ApiScope::Read]).await;
    assert_eq!(
        api(
            &app,
            Method::GET,
            "/api/v1/findings",
            Some(&fresh),
            None,
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    app.state.clock().advance(Duration::days(31));
    assert_eq!(
        api(
            &app,
            Method::GET,
            "/api/v1/findings",
            Some(&fresh),
            None,
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn uploads_go_through_the_scan_lifecycle_and_are_audited() {
    let app = TestApp::new().await;
    app.user("ci", Role::Analyst).await;
    let token = token_for(&app, "ci", &[ApiScope::Read, ApiScope::WriteFindings]).await;

    // 400 findings: larger than the 64 KiB form limit, well under 32 MiB.
    let big = upload(400, true);
    assert!(big.len() > 64 * 1024, "{}", big.len());
    let first = api(
        &app,
        Method::POST,
        "/api/v1/scans",
        Some(&token),
        None,
        Some(big),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let summary = json(&first);
    assert_eq!(
        (
            summary["counts"]["new"].as_u64(),
            summary["complete"].as_bool()
        ),
        (Some(400), Some(true))
    );

    // A complete run without most of them resolves them, as a local scan would.
    let second = api(
        &app,
        Method::POST,
        "/api/v1/scans",
        Some(&token),
        None,
        Some(upload(10, true)),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(json(&second)["counts"]["resolved"], 390);
    let open = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(json(&open)["total"], 10);

    let actions = app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.0 == "ci" && a.1 == "scan.upload")
            .count(),
        2,
        "{actions:?}"
    );

    for (body, expected) in [
        ("{not json".to_string(), "scan upload"),
        (
            upload(1, true).replace("\"iac\"", "\"mainframe\""),
            "engine `mainframe`",
        ),
    ] {
        let reply = api(
            &app,
            Method::POST,
            "/api/v1/scans",
            Some(&token),
            None,
            Some(body),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert!(
            json(&reply)["error"].as_str().unwrap().contains(expected),
            "{}",
            reply.body
        );
    }
    let mut request = Request::post("/api/v1/scans")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain");
    request = request.header("x-test", "content type");
    let reply = app
        .send(request.body(Body::from(upload(1, true))).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("Content-Type"), "{}", reply.body);
    // Over 32 MiB: refused before it is read.
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(33 * 1024 * 1024));
    let reply = api(
        &app,
        Method::POST,
        "/api/v1/scans",
        Some(&token),
        None,
        Some(huge),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Other routes keep the small form limit.
    let admin = app.signed_in("admin", Role::Admin).await;
    let padded = "x".repeat(70 * 1024);
    let reply = app
        .post("/tokens", Some(&admin), &[("name", padded.as_str())])
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_tokens_page_shows_a_token_once_and_revokes_only_ones_own() {
    let app = TestApp::new().await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;
    let analyst = app.signed_in("analyst", Role::Analyst).await;
    let admin = app.signed_in("admin", Role::Admin).await;

    let created = app
        .post(
            "/tokens",
            Some(&analyst),
            &[
                ("name", "ci <pipeline>"),
                ("expires", "90"),
                ("read", "on"),
                ("write_findings", "on"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let token = created
        .body
        .split("<code>")
        .filter_map(|s| s.split("</code>").next())
        .find(|s| s.starts_with("pal_") && s.len() == 68)
        .expect("the new token on the page")
        .to_string();
    assert!(
        created.body.contains("ci &#60;pipeline&#62;")
            || created.body.contains("ci &lt;pipeline&gt;"),
        "names are escaped"
    );
    let reply = api(
        &app,
        Method::POST,
        "/api/v1/scans",
        Some(&token),
        None,
        Some(upload(1, false)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    // Shown once: the list shows only its first characters.
    let list = app.get("/tokens", Some(&analyst)).await;
    assert!(!list.body.contains(&token));
    assert!(list.body.contains(&token[..12]));

    // A viewer cannot give a token the write scope; expiry is capped at a year.
    let refused = app
        .post(
            "/tokens",
            Some(&viewer),
            &[("name", "x"), ("expires", "30"), ("write_findings", "on")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let refused = app
        .post(
            "/tokens",
            Some(&analyst),
            &[("name", "x"), ("expires", "400"), ("read", "on")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let refused = app
        .post(
            "/tokens",
            Some(&analyst),
            &[("name", "x"), ("expires", "30")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "no scope");

    let id = app.store.list_api_tokens(None).await.unwrap()[0].id;
    // Another user's token is invisible and cannot be revoked.
    assert!(!app
        .get("/tokens", Some(&viewer))
        .await
        .body
        .contains(&token[..12]));
    let denied = app
        .post(&format!("/tokens/{id}/revoke"), Some(&viewer), &[])
        .await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND);
    // The admin sees everyone's and revokes it.
    assert!(app
        .get("/tokens", Some(&admin))
        .await
        .body
        .contains(&token[..12]));
    let revoked = app
        .post(&format!("/tokens/{id}/revoke"), Some(&admin), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let reply = api(
        &app,
        Method::GET,
        "/api/v1/findings",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&("analyst".into(), "token.create".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("admin".into(), "token.revoke".into())),
        "{actions:?}"
    );
}
