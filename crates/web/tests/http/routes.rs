//! Every route of the router, for every role and for a visitor who is not
//! signed in, gets exactly the expected status.

use axum::http::{Method, StatusCode};
use palisade_store::{ApiScope, Role};
use palisade_web::authz::Permission;

use crate::common::{Browser, TestApp, PASSPHRASE};

/// What an allowed request to each route answers, with the form the test sends.
fn allowed(
    method: &Method,
    path: &str,
    signed_in: bool,
) -> (StatusCode, Vec<(&'static str, String)>) {
    let ok = StatusCode::OK;
    let redirect = StatusCode::SEE_OTHER;
    let expiry = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    match (method.as_str(), path) {
        ("GET", "/login") if signed_in => (redirect, vec![]),
        ("GET", "/enrol") => (StatusCode::BAD_REQUEST, vec![]), // no token
        ("POST", "/login") => (
            StatusCode::UNAUTHORIZED,
            vec![
                ("username", "nobody".into()),
                ("password", "wrong wrong wrong".into()),
            ],
        ),
        ("POST", "/enrol") => (
            StatusCode::BAD_REQUEST,
            vec![
                ("token", "0".repeat(64)),
                ("username", "newadmin".into()),
                ("password", PASSPHRASE.into()),
                ("confirm", PASSPHRASE.into()),
            ],
        ),
        ("POST", "/logout") => (redirect, vec![]),
        ("POST", "/account/password") => (
            StatusCode::BAD_REQUEST,
            vec![
                ("current", "not the passphrase".into()),
                ("password", "another good passphrase".into()),
                ("confirm", "another good passphrase".into()),
            ],
        ),
        ("POST", "/findings/{id}/suppress") => (
            redirect,
            vec![("reason", "accepted risk".into()), ("expires", expiry)],
        ),
        ("POST", "/findings/{id}/unsuppress") => (redirect, vec![]),
        ("POST", "/users") => (ok, vec![("role", "viewer".into())]), // username added per role
        ("POST", "/users/{id}/role") => (redirect, vec![("role", "auditor".into())]),
        ("POST", "/users/{id}/disable") | ("POST", "/users/{id}/enable") => (redirect, vec![]),
        // Without a pre-session (passphrase done, code due) these send to sign-in.
        (_, "/login/mfa")
        | (_, "/login/mfa/enrol")
        | (_, "/login/mfa/key")
        | (_, "/login/mfa/key/begin")
        | (_, "/login/mfa/key/finish") => (redirect, vec![]),
        ("POST", "/account/keys/register/begin") => (ok, vec![("name", "route test".into())]),
        // No ceremony answer: refused as JSON.
        ("POST", "/account/keys/register/finish") => (StatusCode::BAD_REQUEST, vec![]),
        // The target user's id is no key of the visitor's.
        ("POST", "/account/keys/{id}/remove") => {
            (StatusCode::NOT_FOUND, vec![("current", PASSPHRASE.into())])
        }
        ("POST", "/account/mfa/confirm") => {
            (StatusCode::BAD_REQUEST, vec![("code", "000000".into())])
        }
        ("POST", "/account/mfa/disable") => (
            StatusCode::BAD_REQUEST,
            vec![("current", "not the passphrase".into())],
        ),
        ("POST", "/users/{id}/reset-mfa") => (redirect, vec![]),
        ("POST", "/settings/mfa") => (redirect, vec![("required", "false".into())]),
        ("POST", "/settings/sla") => (
            redirect,
            vec![
                ("critical", "5".into()),
                ("high", "20".into()),
                ("info", "".into()),
            ],
        ),
        // No issuer given: refused by the form check (the real provider is in sso_settings.rs).
        ("POST", "/settings/sso") => (StatusCode::BAD_REQUEST, vec![]),
        ("POST", "/settings/sso/delete") => (redirect, vec![]),
        ("POST", "/tokens") => (
            ok,
            vec![
                ("name", "route test".into()),
                ("expires", "30".into()),
                ("read", "on".into()),
            ],
        ),
        ("POST", "/tokens/{id}/revoke") => (redirect, vec![]),
        ("POST", "/api/v1/scans") => (StatusCode::CREATED, vec![]),
        // Single sign-on is not configured in this test.
        ("GET", "/sso/start") | ("GET", "/sso/callback") => (StatusCode::NOT_FOUND, vec![]),
        ("GET", _) => (ok, vec![]),
        other => panic!("route {other:?} has no expected answer in this test: add one"),
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_its_permission_says() {
    let app = TestApp::new().await;
    let finding = app.findings(&["Bucket is public"]).await[0];
    let target = app.user("target", Role::Viewer).await;
    let mut checked = 0;

    let mut visitors: Vec<(String, Option<Role>)> = vec![("anonymous".into(), None)];
    visitors.extend(Role::ALL.iter().map(|r| (format!("as-{r}"), Some(*r))));
    for (name, role) in visitors {
        let mut browser: Option<Browser> = match role {
            Some(role) => Some(app.signed_in(&name, role).await),
            None => None,
        };
        // The visitor's own API token (both scopes, whatever the role: the
        // guard must refuse what the role does not allow).
        let token = match role {
            Some(_) => Some(
                crate::api::token_for(&app, &name, &[ApiScope::Read, ApiScope::WriteFindings])
                    .await,
            ),
            None => None,
        };
        for route in palisade_web::routes() {
            let own_token = || async {
                let user = app.store.user_by_name(&name).await.unwrap();
                let tokens = app.store.list_api_tokens(user.map(|u| u.id)).await.unwrap();
                tokens.first().map_or(1, |t| t.id)
            };
            let id = if route.path.starts_with("/findings") || route.path.starts_with("/api/") {
                finding
            } else if route.path.starts_with("/tokens") {
                own_token().await
            } else {
                target.id
            };
            let path = route.path.replace("{id}", &id.to_string());
            if route.permission.api_scope().is_some() {
                let body = (route.method == Method::POST).then(|| crate::api::upload(1, false));
                let reply = crate::api::api(
                    &app,
                    route.method.clone(),
                    &path,
                    token.as_deref(),
                    None,
                    body,
                )
                .await;
                let (success, _) = allowed(&route.method, route.path, true);
                let expected = match role {
                    None => StatusCode::UNAUTHORIZED,
                    Some(role) if route.permission.allows(role) => success,
                    Some(_) => StatusCode::FORBIDDEN,
                };
                assert_eq!(
                    reply.status, expected,
                    "{} {} as {name}: {}",
                    route.method, route.path, reply.body
                );
                checked += 1;
                continue;
            }
            let (success, mut form) = allowed(&route.method, route.path, role.is_some());
            if route.path == "/users" && route.method == Method::POST {
                form.push(("username", format!("created-by-{name}")));
            }
            let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = if route.method == Method::GET {
                app.get(&path, browser.as_ref()).await
            } else if route.permission == Permission::Public {
                // Public forms carry the pre-session token of the sign-in page.
                let pre = app.login_page().await;
                app.post(&path, Some(&pre), &fields).await
            } else {
                app.post(&path, browser.as_ref(), &fields).await
            };
            let expected = match (route.permission, role) {
                (Permission::Public, _) => success,
                (_, None) => StatusCode::SEE_OTHER,
                (permission, Some(role)) if permission.allows(role) => success,
                (_, Some(_)) => StatusCode::FORBIDDEN,
            };
            assert_eq!(
                reply.status, expected,
                "{} {} as {name}: {}",
                route.method, route.path, reply.body
            );
            if role.is_none() && route.permission != Permission::Public {
                assert_eq!(
                    reply.location(),
                    Some("/login"),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
            checked += 1;
            if route.path == "/logout" && expected == StatusCode::SEE_OTHER && role.is_some() {
                // Signed out: sign in again for the routes that follow.
                browser = Some(
                    app.login(&name, PASSPHRASE)
                        .await
                        .unwrap_or_else(|r| panic!("{}", r.body)),
                );
            }
        }
    }
    assert_eq!(checked, 5 * palisade_web::routes().len());
}

#[tokio::test]
async fn routes_are_unique_and_unknown_ones_are_not_found() {
    let mut seen = std::collections::HashSet::new();
    for route in palisade_web::routes() {
        assert!(
            seen.insert((route.method.clone(), route.path)),
            "{} {} twice",
            route.method,
            route.path
        );
    }
    let app = TestApp::new().await;
    let admin = app.signed_in("admin", Role::Admin).await;
    let missing = app.get("/no-such-page", Some(&admin)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("error id"), "{}", missing.body);
    let wrong_method = app.get("/logout", Some(&admin)).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        wrong_method.body.contains("error id"),
        "{}",
        wrong_method.body
    );
    let missing_finding = app.get("/findings/999999", Some(&admin)).await;
    assert_eq!(missing_finding.status, StatusCode::NOT_FOUND);
}
