//! Sign-in, enrolment, throttling, sessions, CSRF and security headers.

use axum::http::StatusCode;
use chrono::Duration;
use palisade_store::Role;
use palisade_web::accounts::first_admin_link;
use palisade_web::WebConfig;

use crate::common::{Browser, TestApp, PASSPHRASE, PRE_COOKIE, SESSION_COOKIE};

#[tokio::test]
async fn the_first_admin_is_created_through_a_one_time_link() {
    let app = TestApp::new().await;
    let config = app.state.config().clone();
    let token = first_admin_link(&app.store, &config, app.state.now())
        .await
        .unwrap()
        .expect("a link while there are no users");

    let form = app.get(&format!("/enrol?token={token}"), None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Create the first administrator"));
    let pre = Browser {
        cookie: format!("{PRE_COOKIE}={}", form.cookie(PRE_COOKIE).unwrap()),
        csrf: form.csrf().unwrap(),
    };
    let fields = |password: &'static str| {
        vec![
            ("token", token.clone()),
            ("username", "root".to_string()),
            ("password", password.to_string()),
            ("confirm", password.to_string()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        let pre = pre.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post("/enrol", Some(&pre), &fields).await
        }
    };

    let common = send(fields("password1234")).await;
    assert_eq!(common.status, StatusCode::BAD_REQUEST);
    assert!(common.body.contains("most common"), "{}", common.body);
    let short = send(fields("short")).await;
    assert!(
        short.body.contains("at least 12 characters"),
        "{}",
        short.body
    );

    let created = send(fields(PASSPHRASE)).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let session = created.cookie(SESSION_COOKIE).expect("signed in at once");
    let admin = Browser {
        cookie: format!("{SESSION_COOKIE}={session}"),
        csrf: String::new(),
    };
    let users = app.get("/users", Some(&admin)).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("root (you)"));

    let reused = send(fields("yet another fine passphrase")).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert!(
        reused.body.contains("unknown, already used or expired"),
        "{}",
        reused.body
    );
    assert!(first_admin_link(&app.store, &config, app.state.now())
        .await
        .unwrap()
        .is_none());
    assert!(app
        .audit_actions()
        .await
        .contains(&("root".into(), "user.enrol".into())));
}

#[tokio::test]
async fn an_enrolment_link_expires_after_an_hour() {
    let app = TestApp::new().await;
    let token = first_admin_link(&app.store, app.state.config(), app.state.now())
        .await
        .unwrap()
        .unwrap();
    app.state.clock().advance(Duration::minutes(61));
    let form = app.get(&format!("/enrol?token={token}"), None).await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_failed_sign_in_looks_the_same_whether_or_not_the_account_exists() {
    let app = TestApp::new().await;
    app.user("alice", Role::Viewer).await;
    let wrong_password = app
        .login("alice", "not her passphrase at all")
        .await
        .unwrap_err();
    let no_such_user = app
        .login("mallory", "not her passphrase at all")
        .await
        .unwrap_err();
    let disabled = {
        let bob = app.user("bob", Role::Viewer).await;
        app.store
            .set_user_disabled(bob.id, true, app.state.now())
            .await
            .unwrap();
        app.login("bob", PASSPHRASE).await.unwrap_err()
    };
    let scrub = |body: &str, name: &str| {
        let token_at = body.find("name=\"csrf\" value=\"").unwrap();
        format!("{}{}", &body[..token_at], &body[token_at + 83..]).replace(name, "NAME")
    };
    for (reply, name) in [(&no_such_user, "mallory"), (&disabled, "bob")] {
        assert_eq!(reply.status, wrong_password.status);
        assert_eq!(
            scrub(&reply.body, name),
            scrub(&wrong_password.body, "alice")
        );
    }
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert!(wrong_password.cookie(SESSION_COOKIE).is_none());
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| a.1 == "login.failure").count(), 3);
}

#[tokio::test]
async fn repeated_failures_lock_an_account_name_for_a_while_existing_or_not() {
    let app = TestApp::new().await;
    app.user("alice", Role::Viewer).await;
    for name in ["alice", "ghost"] {
        for _ in 0..5 {
            let reply = app.login(name, "wrong wrong wrong").await.unwrap_err();
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        }
        // Locked: even the right passphrase is refused, with the same answer for both names.
        let locked = app.login(name, PASSPHRASE).await.unwrap_err();
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{name}");
        assert!(locked.body.contains("Too many failed sign-ins"));
    }
    app.state.clock().advance(Duration::minutes(2));
    app.login("alice", PASSPHRASE)
        .await
        .expect("unlocked after the lock");
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a.1 == "login.throttled"));
}

#[tokio::test]
async fn many_failures_from_one_address_lock_that_address_only() {
    let app = TestApp::new().await;
    app.user("alice", Role::Viewer).await;
    let attacker = "198.51.100.7:4000";
    for i in 0..20 {
        let pre = app.login_page().await;
        let name = format!("user{i}");
        let reply = app
            .post_from(
                "/login",
                Some(&pre),
                &[("username", &name), ("password", "wrong wrong wrong")],
                attacker,
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let pre = app.login_page().await;
    let blocked = app
        .post_from(
            "/login",
            Some(&pre),
            &[("username", "alice"), ("password", PASSPHRASE)],
            attacker,
        )
        .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    app.login("alice", PASSPHRASE)
        .await
        .expect("another address signs in");
}

#[tokio::test]
async fn signing_in_issues_a_new_session_id_and_retires_the_old_one() {
    let app = TestApp::new().await;
    app.user("alice", Role::Viewer).await;
    let first = app.login("alice", PASSPHRASE).await.unwrap();
    // Sign in again from the same browser, presenting the first session.
    let page = app.get("/login", None).await;
    let pre = page.cookie(PRE_COOKIE).unwrap();
    let both = Browser {
        cookie: format!("{}; {PRE_COOKIE}={pre}", first.cookie),
        csrf: page.csrf().unwrap(),
    };
    let reply = app
        .post(
            "/login",
            Some(&both),
            &[("username", "alice"), ("password", PASSPHRASE)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let second = reply.cookie(SESSION_COOKIE).unwrap();
    assert_ne!(format!("{SESSION_COOKIE}={second}"), first.cookie);
    let old = app.get("/", Some(&first)).await;
    assert_eq!(
        (old.status, old.location()),
        (StatusCode::SEE_OTHER, Some("/login"))
    );

    // A session id an attacker made up is never adopted.
    let planted = Browser {
        cookie: format!("{SESSION_COOKIE}={}", "a".repeat(64)),
        csrf: String::new(),
    };
    let reply = app.get("/", Some(&planted)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{SESSION_COOKIE}=;"))),
        "the stale cookie is cleared"
    );
}

#[tokio::test]
async fn logout_disable_role_change_and_passphrase_change_end_sessions() {
    let app = TestApp::new().await;
    let admin = app.signed_in("admin", Role::Admin).await;
    let alice = app.signed_in("alice", Role::Analyst).await;
    let alice_user = app.store.user_by_name("alice").await.unwrap().unwrap();
    let signed_out = |reply: &crate::common::Reply| {
        reply.status == StatusCode::SEE_OTHER && reply.location() == Some("/login")
    };

    // Logout.
    assert_eq!(
        app.post("/logout", Some(&alice), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(signed_out(&app.get("/", Some(&alice)).await));

    // Disable by an admin ends every session at once; sign-in is refused.
    let alice = app.login("alice", PASSPHRASE).await.unwrap();
    let alice_phone = app.login("alice", PASSPHRASE).await.unwrap();
    let reply = app
        .post(
            &format!("/users/{}/disable", alice_user.id),
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(signed_out(&app.get("/", Some(&alice)).await));
    assert!(signed_out(&app.get("/", Some(&alice_phone)).await));
    assert_eq!(
        app.login("alice", PASSPHRASE).await.unwrap_err().status,
        StatusCode::UNAUTHORIZED
    );
    app.post(
        &format!("/users/{}/enable", alice_user.id),
        Some(&admin),
        &[],
    )
    .await;

    // A role change applies at once.
    let alice = app.login("alice", PASSPHRASE).await.unwrap();
    app.post(
        &format!("/users/{}/role", alice_user.id),
        Some(&admin),
        &[("role", "viewer")],
    )
    .await;
    assert!(signed_out(&app.get("/", Some(&alice)).await));
    assert_eq!(
        app.store
            .user_by_id(alice_user.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Viewer
    );

    // A passphrase change ends the other sessions; the changing browser gets a new one.
    let laptop = app.login("alice", PASSPHRASE).await.unwrap();
    let phone = app.login("alice", PASSPHRASE).await.unwrap();
    let new = "a brand new passphrase here";
    let reply = app
        .post(
            "/account/password",
            Some(&laptop),
            &[("current", PASSPHRASE), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let renewed = Browser {
        cookie: format!("{SESSION_COOKIE}={}", reply.cookie(SESSION_COOKIE).unwrap()),
        csrf: String::new(),
    };
    assert_eq!(app.get("/", Some(&renewed)).await.status, StatusCode::OK);
    assert!(signed_out(&app.get("/", Some(&phone)).await));
    assert!(signed_out(&app.get("/", Some(&laptop)).await));
    app.login("alice", new)
        .await
        .expect("the new passphrase works");
    assert!(app.login("alice", PASSPHRASE).await.is_err());

    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|a| a.1).collect();
    for action in [
        "logout",
        "user.disable",
        "user.enable",
        "user.role",
        "user.password",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    app.store.verify_audit_log().await.expect("the chain holds");
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    let app = TestApp::new().await;
    let idle = app.signed_in("idle", Role::Viewer).await;
    app.state.clock().advance(Duration::minutes(31));
    assert_eq!(app.get("/", Some(&idle)).await.location(), Some("/login"));

    let busy = app.login("idle", PASSPHRASE).await.unwrap();
    for _ in 0..40 {
        // Active every 20 minutes: the idle timeout never fires...
        app.state.clock().advance(Duration::minutes(20));
        let reply = app.get("/", Some(&busy)).await;
        if reply.status != StatusCode::OK {
            // ...but the absolute one does, after 12 hours.
            assert_eq!(reply.location(), Some("/login"));
            return;
        }
    }
    panic!("the session outlived its absolute timeout");
}

#[tokio::test]
async fn state_changing_requests_need_the_right_csrf_token_and_same_site() {
    let app = TestApp::new().await;
    let ids = app.findings(&["A finding"]).await;
    let analyst = app.signed_in("analyst", Role::Analyst).await;
    let path = format!("/findings/{}/suppress", ids[0]);
    let expiry = (chrono::Utc::now().date_naive() + Duration::days(10)).to_string();
    let form = [("reason", "because"), ("expires", expiry.as_str())];

    let missing = Browser {
        cookie: analyst.cookie.clone(),
        csrf: String::new(),
    };
    let mut fields = form.to_vec();
    fields.push(("csrf", ""));
    assert_eq!(
        app.post(&path, Some(&missing), &fields).await.status,
        StatusCode::FORBIDDEN
    );
    let forged = Browser {
        cookie: analyst.cookie.clone(),
        csrf: "f".repeat(64),
    };
    let refused = app.post(&path, Some(&forged), &form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("error id"));

    // Another user's token does not work either.
    let other = app.signed_in("other", Role::Analyst).await;
    let mixed = Browser {
        cookie: analyst.cookie.clone(),
        csrf: other.csrf.clone(),
    };
    assert_eq!(
        app.post(&path, Some(&mixed), &form).await.status,
        StatusCode::FORBIDDEN
    );

    // A cross-site request is refused even with the token.
    let body = serde_urlencoded::to_string([
        ("reason", "x"),
        ("expires", expiry.as_str()),
        ("csrf", analyst.csrf.as_str()),
    ])
    .unwrap();
    let request = axum::http::Request::post(&path)
        .header("cookie", &analyst.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::from(body))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);

    let stored = app
        .store
        .get_finding_id(ids[0], app.state.now())
        .await
        .unwrap();
    assert!(stored.suppression.is_none(), "nothing was suppressed");
    assert_eq!(
        app.post(&path, Some(&analyst), &form).await.status,
        StatusCode::SEE_OTHER
    );

    // The sign-in form needs the pre-session cookie's token.
    app.user("alice", Role::Viewer).await;
    let no_cookie = app
        .post(
            "/login",
            None,
            &[
                ("username", "alice"),
                ("password", PASSPHRASE),
                ("csrf", &"0".repeat(64)),
            ],
        )
        .await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;
    for (path, browser) in [
        ("/login", None),
        ("/", Some(&viewer)),
        ("/nowhere", Some(&viewer)),
        ("/static/palisade.css", None),
    ] {
        let reply = app.get(path, browser).await;
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("script-src") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert!(
            header("strict-transport-security").starts_with("max-age="),
            "{path}"
        );
        assert_eq!(header("x-request-id").len(), 16, "{path}");
        assert!(!reply.body.contains("<script"), "{path}");
    }
    let login = app.get("/login", None).await;
    let cookie = login
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(PRE_COOKIE))
        .unwrap();
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    // Plain-HTTP development: no HSTS, and cookies without the __Host- prefix.
    let plain = TestApp::with_config(WebConfig {
        hashing: palisade_web::accounts::fast_hashing_for_tests(),
        hsts: false,
        secure_cookies: false,
        ..WebConfig::default()
    })
    .await;
    let reply = plain.get("/login", None).await;
    assert!(reply.headers.get("strict-transport-security").is_none());
    let cookie = reply.set_cookies().into_iter().next().unwrap();
    assert!(
        cookie.starts_with("palisade_pre=") && !cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_the_error_page() {
    let app = TestApp::new().await;
    let pre = app.login_page().await;
    let big = "x".repeat(100 * 1024);
    let reply = app
        .post(
            "/login",
            Some(&pre),
            &[("username", &big), ("password", "y")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.body.contains("error id"), "{}", reply.body);
}
