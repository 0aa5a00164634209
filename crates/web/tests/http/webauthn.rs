//! Security keys over HTTP, with a small software authenticator (a P-256
//! key, "none" attestation, as a browser would relay it): registration,
//! sign-in with a key as the second step, the signature counter, a replayed
//! or foreign answer, removal (proof, another user's key, the MFA policy)
//! and the CSP of the key pages.

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sha::sha256;
use openssl::sign::Signer;
use palisade_store::Role;
use palisade_web::WebConfig;
use serde_json::{json, Value};

use crate::common::{Browser, Reply, TestApp, PASSPHRASE, SESSION_COOKIE};

const MFA_COOKIE: &str = "__Host-palisade_mfa";
/// The test app's public URL is https://127.0.0.1:8080, served to WebAuthn
/// as localhost.
const ORIGIN: &str = "https://localhost:8080";
const RP_ID: &str = "localhost";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A security key with one credential.
struct SoftKey {
    key: EcKey<Private>,
    credential_id: Vec<u8>,
    counter: u32,
}

impl SoftKey {
    fn new() -> SoftKey {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        SoftKey {
            key: EcKey::generate(&group).unwrap(),
            credential_id: sha256(format!("{:?}", std::time::Instant::now()).as_bytes())[..16]
                .to_vec(),
            counter: 0,
        }
    }

    /// The COSE (RFC 9053) encoding of the public key, EC2 P-256 ES256.
    fn cose_key(&self) -> Vec<u8> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
        let mut ctx = BigNumContext::new().unwrap();
        self.key
            .public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
            .unwrap();
        let mut cbor = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        cbor.extend(x.to_vec_padded(32).unwrap());
        cbor.extend([0x22, 0x58, 0x20]);
        cbor.extend(y.to_vec_padded(32).unwrap());
        cbor
    }

    fn auth_data(&self, flags: u8, attested: bool) -> Vec<u8> {
        let mut data = sha256(RP_ID.as_bytes()).to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        if attested {
            data.extend([0u8; 16]); // AAGUID
            data.extend((self.credential_id.len() as u16).to_be_bytes());
            data.extend(&self.credential_id);
            data.extend(self.cose_key());
        }
        data
    }

    fn client_data(kind: &str, options: &Value, origin: &str) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": options["publicKey"]["challenge"].as_str().expect("challenge"),
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    /// What `navigator.credentials.create` gives for `options`, as JSON.
    fn create(&self, options: &Value) -> String {
        let auth_data = self.auth_data(0x45, true); // UP, UV, AT
        assert!(auth_data.len() < 256);
        let mut attestation = vec![0xa3, 0x63];
        attestation.extend(b"fmt");
        attestation.push(0x64);
        attestation.extend(b"none");
        attestation.push(0x67);
        attestation.extend(b"attStmt");
        attestation.extend([0xa0, 0x68]);
        attestation.extend(b"authData");
        attestation.extend([0x58, auth_data.len() as u8]);
        attestation.extend(&auth_data);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&Self::client_data("webauthn.create", options, ORIGIN)),
            },
        })
        .to_string()
    }

    /// What `navigator.credentials.get` gives for `options` at `origin`.
    fn get_at(&mut self, options: &Value, origin: &str) -> String {
        self.counter += 1;
        let auth_data = self.auth_data(0x05, false); // UP, UV
        let client_data = Self::client_data("webauthn.get", options, origin);
        let pkey = PKey::from_ec_key(self.key.clone()).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &pkey).unwrap();
        signer.update(&auth_data).unwrap();
        signer.update(&sha256(&client_data)).unwrap();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&signer.sign_to_vec().unwrap()),
                "userHandle": null,
            },
        })
        .to_string()
    }

    fn get(&mut self, options: &Value) -> String {
        self.get_at(options, ORIGIN)
    }
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

/// Registers `key` under `name` from a signed-in browser.
async fn register(app: &TestApp, browser: &Browser, key: &SoftKey, name: &str) -> Reply {
    let begin = app
        .post(
            "/account/keys/register/begin",
            Some(browser),
            &[("name", name)],
        )
        .await;
    assert_eq!(begin.status, StatusCode::OK, "{}", begin.body);
    let options = json_of(&begin);
    assert_eq!(options["publicKey"]["rp"]["id"], RP_ID);
    app.post(
        "/account/keys/register/finish",
        Some(browser),
        &[("credential", &key.create(&options))],
    )
    .await
}

/// The passphrase step for a user with a key: a browser with only the
/// pre-session, on the key page.
async fn passphrase_step(app: &TestApp, name: &str) -> Browser {
    let login = app.login_page().await;
    let reply = app
        .post(
            "/login",
            Some(&login),
            &[("username", name), ("password", PASSPHRASE)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), Some("/login/mfa/key"));
    let mut browser = Browser {
        cookie: format!(
            "{MFA_COOKIE}={}",
            reply.cookie(MFA_COOKIE).expect("pre-session")
        ),
        csrf: String::new(),
    };
    let page = app.get("/login/mfa/key", Some(&browser)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("/static/webauthn.js"));
    browser.csrf = page.csrf().expect("csrf");
    browser
}

async fn login_options(app: &TestApp, browser: &Browser) -> Value {
    let begin = app.post("/login/mfa/key/begin", Some(browser), &[]).await;
    assert_eq!(begin.status, StatusCode::OK, "{}", begin.body);
    json_of(&begin)
}

fn count(actions: &[(String, String)], action: &str) -> usize {
    actions.iter().filter(|(_, a)| a == action).count()
}

#[tokio::test]
async fn a_registered_key_is_the_second_step_of_sign_in() {
    let app = TestApp::new().await;
    let alice = app.signed_in("alice", Role::Analyst).await;
    let user = app.store.user_by_name("alice").await.unwrap().unwrap();

    let page = app.get("/account/keys", Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(page.body.contains(ORIGIN), "the page says where keys work");
    // Every other page keeps the policy without script.
    let other = app.get("/account", Some(&alice)).await;
    let csp = other.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("script-src"), "{csp}");
    let script = app.get("/static/webauthn.js", None).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.body.contains("navigator.credentials.create"));

    // A key name is required.
    let nameless = app
        .post(
            "/account/keys/register/begin",
            Some(&alice),
            &[("name", " ")],
        )
        .await;
    assert_eq!(nameless.status, StatusCode::BAD_REQUEST);

    let mut key = SoftKey::new();
    let done = register(&app, &alice, &key, "Desk key").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(json_of(&done)["redirect"], "/account/keys?added=true");
    assert!(app.store.has_mfa(user.id).await.unwrap());
    let listed = app.get("/account/keys", Some(&alice)).await;
    assert!(listed.body.contains("Desk key"), "{}", listed.body);
    // The same key again is excluded by the browser, and refused here.
    let again = register(&app, &alice, &key, "Same key").await;
    assert!(
        matches!(again.status, StatusCode::CONFLICT | StatusCode::BAD_REQUEST),
        "{} {}",
        again.status,
        again.body
    );
    assert_eq!(
        app.store.webauthn_credentials(user.id).await.unwrap().len(),
        1
    );
    // A registration answer cannot be used twice.
    let replay = app
        .post(
            "/account/keys/register/finish",
            Some(&alice),
            &[("credential", "{}")],
        )
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);

    // Sign-in: passphrase, then the key.
    let pending = passphrase_step(&app, "alice").await;
    // The pre-session reaches the key step and nothing else.
    assert_eq!(
        app.get("/account/keys", Some(&pending)).await.location(),
        Some("/login")
    );
    let options = login_options(&app, &pending).await;
    let allowed = options["publicKey"]["allowCredentials"][0]["id"].as_str();
    assert_eq!(allowed, Some(b64(&key.credential_id).as_str()));
    let finish = app
        .post(
            "/login/mfa/key/finish",
            Some(&pending),
            &[("credential", &key.get(&options))],
        )
        .await;
    assert_eq!(finish.status, StatusCode::OK, "{}", finish.body);
    assert_eq!(json_of(&finish)["redirect"], "/");
    let session = finish.cookie(SESSION_COOKIE).expect("a session");
    let signed_in = Browser {
        cookie: format!("{SESSION_COOKIE}={session}"),
        csrf: String::new(),
    };
    assert_eq!(app.get("/", Some(&signed_in)).await.status, StatusCode::OK);
    let stored = app.store.webauthn_credentials(user.id).await.unwrap();
    assert_eq!(stored[0].sign_count, 1, "the counter is kept");
    assert!(stored[0].last_used_at.is_some());

    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "mfa.webauthn_register"), 1);
    assert_eq!(count(&actions, "login.success"), 2);
}

#[tokio::test]
async fn replayed_cloned_or_foreign_answers_are_refused_and_throttled() {
    let app = TestApp::new().await;
    let bob = app.signed_in("bob", Role::Viewer).await;
    let mut key = SoftKey::new();
    assert_eq!(
        register(&app, &bob, &key, "Key").await.status,
        StatusCode::OK
    );
    let pending = passphrase_step(&app, "bob").await;
    let options = login_options(&app, &pending).await;
    let answer = key.get(&options);
    let first = app
        .post(
            "/login/mfa/key/finish",
            Some(&pending),
            &[("credential", &answer)],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);

    // The same answer again: its challenge was used up.
    let pending = passphrase_step(&app, "bob").await;
    let replayed = app
        .post(
            "/login/mfa/key/finish",
            Some(&pending),
            &[("credential", &answer)],
        )
        .await;
    assert_eq!(
        replayed.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        replayed.body
    );

    // An answer made for another site (phishing origin).
    let options = login_options(&app, &pending).await;
    let phished = key.get_at(&options, "https://evil.example");
    let reply = app
        .post(
            "/login/mfa/key/finish",
            Some(&pending),
            &[("credential", &phished)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.cookie(SESSION_COOKIE), None);

    // A cloned key: its counter does not move past the stored one (1).
    let options = login_options(&app, &pending).await;
    key.counter = 0;
    let cloned = key.get(&options);
    let reply = app
        .post(
            "/login/mfa/key/finish",
            Some(&pending),
            &[("credential", &cloned)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);

    // Garbage, twice more: five failures lock the account's second step.
    for _ in 0..2 {
        login_options(&app, &pending).await;
        let reply = app
            .post(
                "/login/mfa/key/finish",
                Some(&pending),
                &[("credential", "not json")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let locked = app.post("/login/mfa/key/begin", Some(&pending), &[]).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "login.mfa_failed"), 5);
}

#[tokio::test]
async fn removing_a_key_needs_proof_and_ends_other_sessions() {
    let app = TestApp::new().await;
    let carol = app.signed_in("carol", Role::Admin).await;
    let other_session = app.login("carol", PASSPHRASE).await.unwrap();
    let dave = app.signed_in("dave", Role::Analyst).await;
    let user = app.store.user_by_name("carol").await.unwrap().unwrap();
    let key = SoftKey::new();
    assert_eq!(
        register(&app, &carol, &key, "Carol's key").await.status,
        StatusCode::OK
    );
    let id = app.store.webauthn_credentials(user.id).await.unwrap()[0].id;
    let path = format!("/account/keys/{id}/remove");

    // Another user's key is not found, even with their own passphrase.
    let idor = app
        .post(&path, Some(&dave), &[("current", PASSPHRASE)])
        .await;
    assert_eq!(idor.status, StatusCode::NOT_FOUND);
    // No proof, or a wrong one.
    let wrong = app
        .post(&path, Some(&carol), &[("current", "not the passphrase")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);

    // While MFA is required, the last factor stays.
    app.store
        .set_mfa_required(true, "carol", app.state.now())
        .await
        .unwrap();
    let last = app
        .post(&path, Some(&carol), &[("current", PASSPHRASE)])
        .await;
    assert_eq!(last.status, StatusCode::BAD_REQUEST, "{}", last.body);
    assert!(last.body.contains("last key"), "{}", last.body);
    app.store
        .set_mfa_required(false, "carol", app.state.now())
        .await
        .unwrap();

    let removed = app
        .post(&path, Some(&carol), &[("current", PASSPHRASE)])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(removed.location(), Some("/account/keys?removed=true"));
    assert!(
        removed.cookie(SESSION_COOKIE).is_some(),
        "this browser stays in"
    );
    assert!(!app.store.has_mfa(user.id).await.unwrap());
    assert_eq!(
        app.get("/", Some(&other_session)).await.location(),
        Some("/login"),
        "other sessions end"
    );
    let actions = app.audit_actions().await;
    assert_eq!(count(&actions, "mfa.webauthn_remove"), 1);
    assert_eq!(count(&actions, "login.mfa_failed"), 1);
}

#[tokio::test]
async fn keys_are_off_when_the_public_url_is_an_ip_address() {
    let app = TestApp::with_config(WebConfig {
        hashing: palisade_web::accounts::fast_hashing_for_tests(),
        public_url: "https://192.0.2.1:8443".into(),
        ..WebConfig::default()
    })
    .await;
    let erin = app.signed_in("erin", Role::Viewer).await;
    let page = app.get("/account/keys", Some(&erin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("not an IP address"), "{}", page.body);
    assert!(!page.body.contains("data-webauthn=\"register\""));
    let begin = app
        .post(
            "/account/keys/register/begin",
            Some(&erin),
            &[("name", "k")],
        )
        .await;
    assert_eq!(begin.status, StatusCode::BAD_REQUEST);
    assert!(json_of(&begin)["error"]
        .as_str()
        .unwrap()
        .contains("host name"));
}
