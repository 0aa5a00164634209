//! The second factor over HTTP: enrolment, two-step sign-in with a
//! pre-session that reaches nothing else, replay and throttling of codes,
//! recovery codes, disabling, an administrator's reset, the MFA policy and
//! the settings page.

use axum::http::StatusCode;
use chrono::Duration;
use palisade_store::Role;
use palisade_web::mfa::code_at;

use crate::common::{Browser, Reply, TestApp, PASSPHRASE, SESSION_COOKIE};

const MFA_COOKIE: &str = "__Host-palisade_mfa";

/// The base32 key shown next to the QR code, decoded.
fn seed_on(page: &Reply) -> Vec<u8> {
    let start = page
        .body
        .find("<code class=\"wrap\">")
        .expect("key on the page")
        + 19;
    let end = page.body[start..].find('<').expect("end of key");
    totp_rs::Secret::try_from_base32(&page.body[start..start + end])
        .expect("base32 key")
        .as_ref()
        .to_vec()
}

/// The recovery codes listed on a page.
fn codes_on(page: &Reply) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split('<').next().map(String::from))
        .collect()
}

fn code_now(app: &TestApp, seed: &[u8]) -> String {
    code_at(seed, app.state.now()).expect("code")
}

/// Moves the test clock to the next 30-second step, so that a new code is valid.
fn next_step(app: &TestApp) {
    app.state.clock().advance(Duration::seconds(30));
}

/// Turns MFA on for a signed-in browser; returns the seed and recovery codes.
async fn enrol(app: &TestApp, browser: &Browser) -> (Vec<u8>, Vec<String>) {
    let page = app.get("/account/mfa", Some(browser)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let seed = seed_on(&page);
    let code = code_now(app, &seed);
    let done = app
        .post("/account/mfa/confirm", Some(browser), &[("code", &code)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes = codes_on(&done);
    assert_eq!(codes.len(), 10, "{}", done.body);
    next_step(app);
    (seed, codes)
}

/// The passphrase step: a browser holding only the pre-session, with the
/// token of the page it was sent to.
async fn passphrase_step(app: &TestApp, name: &str, expect_to: &str) -> Browser {
    let login = app.login_page().await;
    let reply = app
        .post(
            "/login",
            Some(&login),
            &[("username", name), ("password", PASSPHRASE)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), Some(expect_to));
    assert_eq!(
        reply.cookie(SESSION_COOKIE),
        None,
        "no session before the code"
    );
    let pending = reply.cookie(MFA_COOKIE).expect("pre-session cookie");
    let mut browser = Browser {
        cookie: format!("{MFA_COOKIE}={pending}"),
        csrf: String::new(),
    };
    let page = app.get(expect_to, Some(&browser)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    browser.csrf = page.csrf().expect("csrf");
    browser
}

/// The session browser a successful second step hands out.
fn session_from(reply: &Reply) -> Browser {
    let session = reply.cookie(SESSION_COOKIE).expect("session cookie");
    Browser {
        cookie: format!("{SESSION_COOKIE}={session}"),
        csrf: String::new(),
    }
}

fn count(actions: &[(String, String)], action: &str) -> usize {
    actions.iter().filter(|(_, a)| a == action).count()
}

#[tokio::test]
async fn enrolment_needs_a_code_and_sign_in_then_takes_two_steps() {
    let app = TestApp::new().await;
    let alice = app.signed_in("alice", Role::Analyst).await;
    let user = app.store.user_by_name("alice").await.unwrap().unwrap();

    let page = app.get("/account/mfa", Some(&alice)).await;
    assert!(page.body.contains("<svg"), "QR code inline as SVG");
    let seed = seed_on(&page);
    // Reloading keeps the same pending key (the app may already have scanned it).
    assert_eq!(seed_on(&app.get("/account/mfa", Some(&alice)).await), seed);
    // The seed is stored only sealed.
    let stored = app.store.totp(user.id).await.unwrap().unwrap();
    assert!(stored.sealed_seed.starts_with("pv1:"));
    let base32 = totp_rs::Secret::from(seed.as_slice()).to_base32();
    assert!(!stored.sealed_seed.contains(&base32));
    assert!(!stored.sealed_seed.contains(&hex::encode(&seed)));

    let wrong = app
        .post("/account/mfa/confirm", Some(&alice), &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(!app.store.has_mfa(user.id).await.unwrap());
    let code = code_now(&app, &seed);
    let done = app
        .post("/account/mfa/confirm", Some(&alice), &[("code", &code)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(codes_on(&done).len(), 10);
    assert!(app.store.has_mfa(user.id).await.unwrap());
    // The codes are shown once: the page does not show them again.
    let again = app.get("/account/mfa", Some(&alice)).await;
    assert!(codes_on(&again).is_empty());
    assert!(
        again.body.contains("Unused recovery codes: 10"),
        "{}",
        again.body
    );

    // The code that confirmed enrolment cannot sign in (its step is used).
    let pending = passphrase_step(&app, "alice", "/login/mfa").await;
    let replay = app
        .post("/login/mfa", Some(&pending), &[("code", &code)])
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    // The pre-session reaches nothing but the second step.
    for path in ["/", "/findings", "/account", "/account/mfa", "/users"] {
        let reply = app.get(path, Some(&pending)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location(), Some("/login"), "{path}");
    }
    let logout = app.post("/logout", Some(&pending), &[]).await;
    assert_eq!(logout.location(), Some("/login"));
    // Nor can a form of the second step be posted with another token.
    let forged = app
        .post(
            "/login/mfa",
            Some(&pending),
            &[("code", "123456"), ("csrf", "0")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    next_step(&app);
    let code = code_now(&app, &seed);
    let signed = app
        .post("/login/mfa", Some(&pending), &[("code", &code)])
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location(), Some("/"));
    assert!(signed
        .set_cookies()
        .iter()
        .any(|c| c.starts_with(&format!("{MFA_COOKIE}=;"))));
    let session = session_from(&signed);
    assert_eq!(app.get("/", Some(&session)).await.status, StatusCode::OK);
    // The pre-session is spent.
    let spent = app.get("/login/mfa", Some(&pending)).await;
    assert_eq!(spent.location(), Some("/login"));

    // The same code again, within its step, in another sign-in: refused.
    let second = passphrase_step(&app, "alice", "/login/mfa").await;
    let replay = app
        .post("/login/mfa", Some(&second), &[("code", &code)])
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    next_step(&app);
    let fresh = code_now(&app, &seed);
    let ok = app
        .post("/login/mfa", Some(&second), &[("code", &fresh)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);

    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "mfa.enrol"), 1);
    // The wrong enrolment code and the two replays.
    assert_eq!(count(&actions, "login.mfa_failed"), 3);
    assert!(actions.contains(&("alice".into(), "login.success".into())));
}

#[tokio::test]
async fn recovery_codes_sign_in_once_each() {
    let app = TestApp::new().await;
    let bob = app.signed_in("bob", Role::Viewer).await;
    let (_, codes) = enrol(&app, &bob).await;
    let pending = passphrase_step(&app, "bob", "/login/mfa").await;
    // Typed in capitals with spaces: still the code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let ok = app
        .post("/login/mfa", Some(&pending), &[("code", &typed)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let again = passphrase_step(&app, "bob", "/login/mfa").await;
    let reused = app
        .post("/login/mfa", Some(&again), &[("code", &codes[3])])
        .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    let other = app
        .post("/login/mfa", Some(&again), &[("code", &codes[4])])
        .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    let user = app.store.user_by_name("bob").await.unwrap().unwrap();
    assert_eq!(app.store.unused_recovery_codes(user.id).await.unwrap(), 8);
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "mfa.recovery_used"), 2);
}

#[tokio::test]
async fn code_attempts_are_throttled_and_pre_sessions_expire() {
    let app = TestApp::new().await;
    let carol = app.signed_in("carol", Role::Viewer).await;
    let (seed, _) = enrol(&app, &carol).await;
    let pending = passphrase_step(&app, "carol", "/login/mfa").await;
    for _ in 0..5 {
        let wrong = app
            .post("/login/mfa", Some(&pending), &[("code", "000000")])
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    let code = code_now(&app, &seed);
    let locked = app
        .post("/login/mfa", Some(&pending), &[("code", &code)])
        .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "right code refused while locked"
    );
    assert!(app
        .audit_actions()
        .await
        .contains(&("carol".into(), "login.mfa_throttled".into())));

    // After the lock (1 minute) a new pre-session works; an old one has expired (5 minutes).
    app.state.clock().advance(Duration::minutes(6));
    let expired = app.get("/login/mfa", Some(&pending)).await;
    assert_eq!(expired.location(), Some("/login"));
    let fresh = passphrase_step(&app, "carol", "/login/mfa").await;
    let code = code_now(&app, &seed);
    let ok = app
        .post("/login/mfa", Some(&fresh), &[("code", &code)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
}

#[tokio::test]
async fn disabling_needs_a_fresh_code_or_the_passphrase_and_ends_other_sessions() {
    let app = TestApp::new().await;
    let dave = app.signed_in("dave", Role::Analyst).await;
    let (seed, _) = enrol(&app, &dave).await;
    let pending = passphrase_step(&app, "dave", "/login/mfa").await;
    let code = code_now(&app, &seed);
    let other = session_from(
        &app.post("/login/mfa", Some(&pending), &[("code", &code)])
            .await,
    );

    let refused = app
        .post(
            "/account/mfa/disable",
            Some(&dave),
            &[("current", "not the passphrase")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // The code just used to sign in is spent.
    let replay = app
        .post("/account/mfa/disable", Some(&dave), &[("code", &code)])
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    let user = app.store.user_by_name("dave").await.unwrap().unwrap();
    assert!(app.store.has_mfa(user.id).await.unwrap());

    let done = app
        .post(
            "/account/mfa/disable",
            Some(&dave),
            &[("current", PASSPHRASE)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(!app.store.has_mfa(user.id).await.unwrap());
    assert_eq!(
        app.get("/", Some(&other)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get("/", Some(&dave)).await.status,
        StatusCode::SEE_OTHER,
        "old id ended too"
    );
    let renewed = session_from(&done);
    assert_eq!(app.get("/", Some(&renewed)).await.status, StatusCode::OK);
    app.login("dave", PASSPHRASE).await.expect("one step again");
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "mfa.disable"), 1);
}

#[tokio::test]
async fn an_admin_resets_a_users_second_factor_and_their_sessions_end() {
    let app = TestApp::new().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let erin = app.signed_in("erin", Role::Viewer).await;
    enrol(&app, &erin).await;
    let user = app.store.user_by_name("erin").await.unwrap().unwrap();
    let users = app.get("/users", Some(&admin)).await;
    assert!(users
        .body
        .contains(&format!("/users/{}/reset-mfa", user.id)));

    let viewer = app.signed_in("victor", Role::Viewer).await;
    let forbidden = app
        .post(&format!("/users/{}/reset-mfa", user.id), Some(&viewer), &[])
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(app.store.has_mfa(user.id).await.unwrap());

    let reset = app
        .post(&format!("/users/{}/reset-mfa", user.id), Some(&admin), &[])
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    assert!(!app.store.has_mfa(user.id).await.unwrap());
    assert_eq!(
        app.get("/", Some(&erin)).await.status,
        StatusCode::SEE_OTHER
    );
    app.login("erin", PASSPHRASE)
        .await
        .expect("passphrase only again");
    let missing = app.post("/users/999999/reset-mfa", Some(&admin), &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(app
        .audit_actions()
        .await
        .contains(&("root".into(), "mfa.reset".into())));
}

#[tokio::test]
async fn required_mfa_sends_users_to_enrolment_and_nowhere_else() {
    let app = TestApp::new().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let frank = app.signed_in("frank", Role::Analyst).await;

    let early = app
        .post("/settings/mfa", Some(&admin), &[("required", "true")])
        .await;
    assert_eq!(
        early.status,
        StatusCode::BAD_REQUEST,
        "admin has no second factor yet"
    );
    let (admin_seed, _) = enrol(&app, &admin).await;
    let on = app
        .post("/settings/mfa", Some(&admin), &[("required", "true")])
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
    assert!(app.store.mfa_required().await.unwrap());
    assert_eq!(
        app.get("/", Some(&frank)).await.status,
        StatusCode::SEE_OTHER,
        "frank signed out"
    );
    assert_eq!(
        app.get("/", Some(&admin)).await.status,
        StatusCode::OK,
        "admin with MFA stays"
    );

    let pending = passphrase_step(&app, "frank", "/login/mfa/enrol").await;
    for path in ["/", "/account", "/account/mfa", "/login/mfa"] {
        let reply = app.get(path, Some(&pending)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_ne!(reply.location(), Some("/"), "{path}");
    }
    let page = app.get("/login/mfa/enrol", Some(&pending)).await;
    assert!(page.body.contains("<svg"));
    let seed = seed_on(&page);
    let wrong = app
        .post("/login/mfa/enrol", Some(&pending), &[("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(seed_on(&wrong), seed, "the same key while enrolling");
    let code = code_now(&app, &seed);
    let done = app
        .post("/login/mfa/enrol", Some(&pending), &[("code", &code)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(codes_on(&done).len(), 10);
    let mut frank = session_from(&done);
    assert_eq!(app.get("/", Some(&frank)).await.status, StatusCode::OK);

    // Under the policy nobody can turn their second factor off.
    frank.csrf = app.get("/account", Some(&frank)).await.csrf().unwrap();
    let off = app
        .post(
            "/account/mfa/disable",
            Some(&frank),
            &[("current", PASSPHRASE)],
        )
        .await;
    assert_eq!(off.status, StatusCode::BAD_REQUEST);
    assert!(off.body.contains("require"), "{}", off.body);

    // A new user enrols at first sign-in too.
    app.user("grace", Role::Viewer).await;
    passphrase_step(&app, "grace", "/login/mfa/enrol").await;
    // The admin still signs in with a code.
    next_step(&app);
    let root = passphrase_step(&app, "root", "/login/mfa").await;
    let code = code_now(&app, &admin_seed);
    let ok = app
        .post("/login/mfa", Some(&root), &[("code", &code)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);

    let off = app
        .post("/settings/mfa", Some(&admin), &[("required", "false")])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    app.login("grace", PASSPHRASE)
        .await
        .expect("optional again");
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "settings.mfa_policy"), 2);
    assert_eq!(count(&actions, "mfa.enrol"), 2);
}

#[tokio::test]
async fn settings_show_to_auditors_and_sla_changes_re_date_open_findings() {
    let app = TestApp::new().await;
    let ids = app.findings(&["Bucket is public"]).await;
    let admin = app.signed_in("root", Role::Admin).await;
    let auditor = app.signed_in("audrey", Role::Auditor).await;
    let analyst = app.signed_in("anna", Role::Analyst).await;

    let read = app.get("/settings", Some(&auditor)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains("Save SLAs"), "auditors only read");
    assert!(
        read.body
            .contains("id=\"sla-high\" name=\"high\" value=\"30\""),
        "{}",
        read.body
    );
    assert_eq!(
        app.get("/settings", Some(&analyst)).await.status,
        StatusCode::FORBIDDEN
    );
    let denied = app
        .post("/settings/sla", Some(&auditor), &[("high", "1")])
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let bad = app
        .post("/settings/sla", Some(&admin), &[("high", "soon")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("SLA for high"), "{}", bad.body);
    let zero = app
        .post("/settings/sla", Some(&admin), &[("high", "0")])
        .await;
    assert_eq!(zero.status, StatusCode::BAD_REQUEST);

    let before = app
        .store
        .get_finding_id(ids[0], app.state.now())
        .await
        .unwrap();
    let saved = app
        .post(
            "/settings/sla",
            Some(&admin),
            &[
                ("critical", "3"),
                ("high", "10"),
                ("medium", ""),
                ("low", "365"),
                ("info", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let sla = app.store.sla_policy_setting().await.unwrap().unwrap();
    assert_eq!(
        (sla.critical, sla.high, sla.medium, sla.low, sla.info),
        (Some(3), Some(10), None, Some(365), None)
    );
    let after = app
        .store
        .get_finding_id(ids[0], app.state.now())
        .await
        .unwrap();
    assert_eq!(
        after.sla_due_at,
        Some(before.first_seen + Duration::days(10))
    );
    let page = app.get("/settings", Some(&admin)).await;
    assert!(page.body.contains("name=\"high\" value=\"10\""));
    assert!(page.body.contains("name=\"medium\" value=\"\""));

    let records = app
        .store
        .list_audit(&palisade_store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let change = records
        .iter()
        .find(|r| r.action == "settings.sla")
        .expect("audited");
    assert_eq!(change.actor, "root");
    let detail = change.detail.as_deref().unwrap_or_default();
    assert!(
        detail.starts_with(
            "critical 3, high 10, medium none, low 365, info none (was critical 7, high 30"
        ),
        "{detail}"
    );
}
