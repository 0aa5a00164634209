//! Single sign-on in operation, against the real oidc-provider of
//! `sso.rs`: settings saved on the settings page (no restart, discovery
//! checked first, secret sealed and never shown), the MFA policy applied to
//! SSO sign-ins (trusting the provider's `amr`/`acr` or not), and signing
//! out at the provider (RP-initiated logout).

use axum::http::StatusCode;
use palisade_store::Role;
use reqwest::Url;

use crate::common::PASSPHRASE;
use crate::sso::{form_action, setup_with, Agent, Page, Setup, CLIENT_ID, CLIENT_SECRET};

/// The value of the hidden field `name` in a page.
fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_string())
}

/// The base32 key shown on the enrolment page, decoded.
fn seed_on(body: &str) -> Vec<u8> {
    let start = body.find("<code class=\"wrap\">").expect("key on the page") + 19;
    let end = body[start..].find('<').expect("end of key");
    totp_rs::Secret::try_from_base32(&body[start..start + end])
        .expect("base32 key")
        .as_ref()
        .to_vec()
}

/// SSO through the provider as `login`, then the console's callback.
async fn sso_sign_in(setup: &Setup, agent: &mut Agent, login: &str) -> Page {
    let callback = setup.start(agent, login).await;
    agent.send(&callback, None).await
}

async fn require_mfa(setup: &Setup) {
    setup
        .app
        .store
        .set_mfa_required(true, "test", chrono::Utc::now())
        .await
        .expect("policy");
}

#[tokio::test]
async fn sso_sign_ins_take_the_second_step_unless_the_provider_asserted_mfa() {
    let Some(setup) = setup_with(false, true, true).await else {
        return;
    };
    require_mfa(&setup).await;

    // alice's ID token asserts no second factor: enrol one here first.
    let mut alice = Agent::new();
    let back = sso_sign_in(&setup, &mut alice, "alice").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(
        back.location.as_ref().map(Url::path),
        Some("/login/mfa/enrol")
    );
    assert!(alice.cookie("palisade_session").is_none(), "no session yet");
    let enrol = alice.send(&setup.url("/login/mfa/enrol"), None).await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
    assert!(enrol.body.contains("name=\"code\""), "{}", enrol.body);
    let dashboard = alice.send(&setup.url("/"), None).await;
    assert_ne!(
        dashboard.status,
        StatusCode::OK,
        "the pre-session reaches nothing else"
    );
    assert_eq!(setup.audit("sso.login.second-step").await.len(), 1);
    assert_eq!(setup.audit("sso.login.success").await.len(), 0);

    // She confirms a code from her app: now she has a session.
    let seed = seed_on(&enrol.body);
    let code = palisade_web::mfa::code_at(&seed, setup.app.state.now()).expect("code");
    let csrf = hidden(&enrol.body, "csrf").expect("csrf");
    let enrolled = alice
        .send(
            &setup.url("/login/mfa/enrol"),
            Some(&[("csrf", csrf.as_str()), ("code", code.as_str())]),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    assert!(
        alice.cookie("palisade_session").is_some(),
        "signed in after the code"
    );
    assert_eq!(
        alice.send(&setup.url("/"), None).await.status,
        StatusCode::OK
    );

    // Her next SSO sign-in asks for a code from that app.
    let mut again = Agent::new();
    let back = sso_sign_in(&setup, &mut again, "alice").await;
    assert_eq!(back.location.as_ref().map(Url::path), Some("/login/mfa"));
    assert!(again.cookie("palisade_session").is_none());

    // erin's token says amr [pwd, otp]; frank's acr is configured as MFA.
    for login in ["erin", "frank"] {
        let mut agent = Agent::new();
        let back = sso_sign_in(&setup, &mut agent, login).await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{login}: {}", back.body);
        assert_eq!(back.location.as_ref().map(Url::path), Some("/"), "{login}");
        assert!(agent.cookie("palisade_session").is_some(), "{login}");
    }
    assert_eq!(setup.audit("sso.login.success").await.len(), 2);
}

#[tokio::test]
async fn an_untrusted_provider_mfa_claim_still_takes_the_second_step() {
    let Some(setup) = setup_with(false, false, true).await else {
        return;
    };
    require_mfa(&setup).await;
    let mut erin = Agent::new();
    let back = sso_sign_in(&setup, &mut erin, "erin").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(
        back.location.as_ref().map(Url::path),
        Some("/login/mfa/enrol")
    );
    assert!(erin.cookie("palisade_session").is_none());

    // Without the policy, and no factor of their own, they sign in directly.
    setup
        .app
        .store
        .set_mfa_required(false, "test", chrono::Utc::now())
        .await
        .expect("policy");
    let mut again = Agent::new();
    let back = sso_sign_in(&setup, &mut again, "erin").await;
    assert_eq!(back.location.as_ref().map(Url::path), Some("/"));
}

#[tokio::test]
async fn signing_out_revokes_the_session_then_signs_out_at_the_provider() {
    let Some(setup) = setup_with(false, true, true).await else {
        return;
    };
    let mut alice = Agent::new();
    let back = sso_sign_in(&setup, &mut alice, "alice").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let session = alice
        .cookie("palisade_session")
        .expect("session")
        .to_string();
    let account = alice.send(&setup.url("/account"), None).await;
    let csrf = hidden(&account.body, "csrf").expect("csrf");

    let out = alice
        .send(&setup.url("/logout"), Some(&[("csrf", csrf.as_str())]))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let to = out.location.clone().expect("to the provider");
    assert!(
        to.as_str().starts_with(&setup._provider.issuer),
        "end-session endpoint: {to}"
    );
    let query: std::collections::BTreeMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("post_logout_redirect_uri"),
        Some(&format!("{}/login", setup.base))
    );
    assert_eq!(query.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(
        query.get("id_token_hint").map(|t| t.split('.').count()),
        Some(3),
        "a signed ID token"
    );
    // The form that led there may: the CSP's form-action names the provider.
    assert!(csp(&out).contains(&format!("form-action 'self' {}", setup._provider.issuer)));
    let other = Agent::new().send(&setup.url("/login"), None).await;
    assert!(
        !csp(&other).contains(&setup._provider.issuer),
        "other pages keep 'self' only"
    );

    // The local session is gone before the provider is even asked.
    let mut stale = Agent::new();
    stale.set_cookie("palisade_session", &session);
    let reply = stale.send(&setup.url("/account"), None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "revoked session");
    assert_eq!(setup.audit("logout").await.len(), 1);

    // The provider asks to confirm, then sends the browser back to /login.
    let confirm = alice.send(&to, None).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let action = form_action(&confirm.body).expect("confirm form");
    let xsrf = hidden(&confirm.body, "xsrf").expect("xsrf");
    let target = confirm.url.join(&action).expect("action");
    let done = alice
        .send(&target, Some(&[("xsrf", xsrf.as_str()), ("logout", "yes")]))
        .await;
    assert_eq!(
        done.location.as_ref().map(Url::as_str),
        Some(format!("{}/login", setup.base).as_str()),
        "{}",
        done.body
    );
    // The hint was used up: a second sign-out of another session stays local.
    assert!(setup
        .app
        .store
        .take_sso_logout_hint(1)
        .await
        .expect("hint")
        .is_none());
}

fn csp(page: &Page) -> String {
    page.headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_local_sign_out_needs_no_provider() {
    let Some(setup) = setup_with(false, true, true).await else {
        return;
    };
    setup.app.user("root", Role::Admin).await;
    let mut root = Agent::new();
    setup.password_login(&mut root, "root", PASSPHRASE).await;
    let account = root.send(&setup.url("/account"), None).await;
    let csrf = hidden(&account.body, "csrf").expect("csrf");
    let out = root
        .send(&setup.url("/logout"), Some(&[("csrf", csrf.as_str())]))
        .await;
    assert_eq!(out.location.as_ref().map(Url::path), Some("/login"));
    assert!(out
        .location
        .as_ref()
        .is_some_and(|l| l.as_str().starts_with(&setup.base)));
}

/// Posts the settings page's SSO form as the signed-in `agent`.
async fn save_sso(setup: &Setup, agent: &mut Agent, fields: &[(&str, &str)]) -> Page {
    let page = agent.send(&setup.url("/settings"), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden(&page.body, "csrf").expect("csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    agent.send(&setup.url("/settings/sso"), Some(&form)).await
}

#[tokio::test]
async fn sso_set_on_the_settings_page_works_at_once_and_keeps_its_secret() {
    let Some(setup) = setup_with(false, true, false).await else {
        return;
    };
    let issuer = setup._provider.issuer.clone();
    setup.app.user("root", Role::Admin).await;
    let mut root = Agent::new();
    let signed = setup.password_login(&mut root, "root", PASSPHRASE).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let login = Agent::new().send(&setup.url("/login"), None).await;
    assert!(!login.body.contains("Sign in with SSO"));
    let page = root.send(&setup.url("/settings"), None).await;
    assert!(page.body.contains("Not set up"), "{}", page.body);
    assert!(page.body.contains(&format!("{}/sso/callback", setup.base)));

    let good = [
        ("issuer", issuer.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("role_claim", "groups"),
        ("role_map", "sec-team=admin,eng=analyst"),
        ("default_role", ""),
        ("clock_skew", "60"),
        ("trust_idp_mfa", "on"),
    ];
    // A provider that cannot be discovered: a clear error, nothing saved.
    let mut dead = good;
    dead[0].1 = "http://127.0.0.1:9";
    let refused = save_sso(&setup, &mut root, &dead).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    assert!(refused
        .body
        .contains("Discovery of http://127.0.0.1:9 failed"));
    assert!(
        refused.body.contains("value=\"http://127.0.0.1:9\""),
        "what was typed is shown again"
    );
    assert!(!refused.body.contains(CLIENT_SECRET), "except the secret");
    assert!(setup.app.store.sso_settings().await.unwrap().is_none());
    // A bad role map names the field.
    let mut bad_map = good;
    bad_map[4].1 = "sec-team=root";
    let refused = save_sso(&setup, &mut root, &bad_map).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("role map entry"), "{}", refused.body);
    // SSO-only without a break-glass account would lock everyone out.
    let mut only = good.to_vec();
    only.push(("sso_only", "on"));
    let refused = save_sso(&setup, &mut root, &only).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("break-glass"), "{}", refused.body);

    let saved = save_sso(&setup, &mut root, &good).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let stored = setup
        .app
        .store
        .sso_settings()
        .await
        .unwrap()
        .expect("saved");
    let sealed = stored.client_secret_sealed.clone().expect("secret");
    assert!(sealed.starts_with("pv1:") && !sealed.contains(CLIENT_SECRET));
    let audit = setup.audit("settings.sso").await;
    assert_eq!(audit.len(), 1);
    let detail = audit[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("client secret replaced"), "{detail}");
    assert!(!detail.contains(CLIENT_SECRET));
    assert_eq!(setup.audit("settings.sso.refused").await.len(), 3);

    // In force without a restart: alice signs in through the provider.
    let mut alice = Agent::new();
    let login = alice.send(&setup.url("/login"), None).await;
    assert!(login.body.contains("Sign in with SSO"));
    let back = sso_sign_in(&setup, &mut alice, "alice").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(
        setup
            .app
            .store
            .user_by_name("alice")
            .await
            .unwrap()
            .map(|u| u.role),
        Some(Role::Admin)
    );

    // The page says a secret is set and never shows it.
    let page = root.send(&setup.url("/settings"), None).await;
    assert!(page.body.contains("Client secret (set;"), "{}", page.body);
    assert!(!page.body.contains(CLIENT_SECRET));

    // Saved again without a secret: kept. A failed discovery later leaves it in force.
    let mut keep = good;
    keep[2].1 = "";
    keep[4].1 = "eng=viewer";
    let saved = save_sso(&setup, &mut root, &keep).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let detail = setup.audit("settings.sso").await[0]
        .detail
        .clone()
        .unwrap_or_default();
    assert!(detail.contains("client secret kept"), "{detail}");
    let mut dead_again = keep;
    dead_again[0].1 = "http://127.0.0.1:9";
    let refused = save_sso(&setup, &mut root, &dead_again).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY);
    let mut bob = Agent::new();
    let back = sso_sign_in(&setup, &mut bob, "bob").await;
    assert_eq!(
        back.status,
        StatusCode::SEE_OTHER,
        "kept secret still works: {}",
        back.body
    );
    assert_eq!(
        setup
            .app
            .store
            .user_by_name("bob")
            .await
            .unwrap()
            .map(|u| u.role),
        Some(Role::Viewer),
        "the new role map is in force"
    );

    // Turned off: the sign-in page no longer offers it.
    let page = root.send(&setup.url("/settings"), None).await;
    let csrf = hidden(&page.body, "csrf").expect("csrf");
    let off = root
        .send(
            &setup.url("/settings/sso/delete"),
            Some(&[("csrf", csrf.as_str())]),
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let login = Agent::new().send(&setup.url("/login"), None).await;
    assert!(!login.body.contains("Sign in with SSO"));
    assert_eq!(
        Agent::new()
            .send(&setup.url("/sso/start"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(setup.audit("settings.sso.delete").await.len(), 1);
}

#[tokio::test]
async fn flags_take_precedence_and_auditors_only_read() {
    let Some(setup) = setup_with(false, true, true).await else {
        return;
    };
    setup.app.user("root", Role::Admin).await;
    setup.app.user("aud", Role::Auditor).await;
    let mut root = Agent::new();
    setup.password_login(&mut root, "root", PASSPHRASE).await;
    let page = root.send(&setup.url("/settings"), None).await;
    assert!(page.body.contains("take precedence"), "{}", page.body);

    let mut aud = Agent::new();
    setup.password_login(&mut aud, "aud", PASSPHRASE).await;
    let page = aud.send(&setup.url("/settings"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"sso-issuer\""));
    assert!(!page.body.contains("Save single sign-on"));
    let csrf = hidden(&page.body, "csrf").expect("csrf");
    let refused = aud
        .send(
            &setup.url("/settings/sso"),
            Some(&[
                ("csrf", csrf.as_str()),
                ("issuer", "https://evil.example.com"),
            ]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
