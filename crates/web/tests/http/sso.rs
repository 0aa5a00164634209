//! Single sign-on against a real OpenID provider: the npm package
//! `oidc-provider` (tests/oidc/provider.mjs) on a free port, and the console
//! on a real socket, driven through the whole redirect flow by an HTTP
//! client that keeps cookies and posts the provider's sign-in and consent forms.
//!
//! Needs `node` and `npm ci --prefix crates/web/tests/oidc` (done by
//! `.ci/run`); skipped with a message when they are absent, unless
//! `PALISADE_REQUIRE_SERVICES=1`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use axum::http::StatusCode;
use palisade_store::{AuditFilter, Role};
use palisade_web::oidc::{parse_role_map, Sso, SsoConfig};
use palisade_web::server::serve;
use palisade_web::WebConfig;
use reqwest::Url;

use crate::common::{TestApp, PASSPHRASE};

pub(crate) const CLIENT_ID: &str = "palisade";
pub(crate) const CLIENT_SECRET: &str = "palisade-test-secret";

/// The provider process, killed when dropped.
pub(crate) struct Provider {
    child: Child,
    pub(crate) issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Starts the provider, or explains why it cannot (`Err` = skip).
fn start_provider(redirect_uri: &str) -> Result<Provider, String> {
    let dir = provider_dir();
    if !dir.join("node_modules/oidc-provider").is_dir() {
        return Err(format!(
            "oidc-provider is not installed: run `npm ci --prefix {}`",
            dir.display()
        ));
    }
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("REDIRECT_URI", redirect_uri)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut provider = Provider {
        child,
        issuer: String::new(),
    };
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.map_err(|e| format!("provider output: {e}"))?;
        if let Some(issuer) = line.strip_prefix("issuer ") {
            provider.issuer = issuer.trim().to_string();
            // Keep reading: the provider's notices must not hit a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(provider);
        }
    }
    Err("the provider exited before printing its issuer".into())
}

/// An HTTP client that keeps cookies by name (everything here is on
/// 127.0.0.1) and does not follow redirects by itself.
pub(crate) struct Agent {
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) url: Url,
    pub(crate) status: StatusCode,
    pub(crate) location: Option<Url>,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Agent {
    pub(crate) fn new() -> Agent {
        Agent {
            // Redirects are followed by hand, to keep every hop's cookies.
            client: palisade_web::oidc::http_client().expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    /// Sets a cookie by hand (a stale session id, say).
    pub(crate) fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_string(), value.to_string());
    }

    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub(crate) async fn send(&mut self, url: &Url, form: Option<&[(&str, &str)]>) -> Page {
        let mut request = match form {
            Some(form) => self.client.post(url.clone()).form(form),
            None => self.client.get(url.clone()),
        };
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header("cookie", header);
        }
        let response = request.send().await.expect("request");
        for set in response.headers().get_all("set-cookie") {
            let Some((name, rest)) = set.to_str().ok().and_then(|s| s.split_once('=')) else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or("");
            let deleted = value.is_empty()
                || rest.contains("Max-Age=0")
                || rest.contains("expires=Thu, 01 Jan 1970");
            if deleted {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| url.join(l).ok());
        let headers = response.headers().clone();
        Page {
            url: url.clone(),
            status,
            location,
            headers,
            body: response.text().await.expect("body"),
        }
    }

    /// Follows redirects and fills the provider's forms (signing in as
    /// `login`, then consenting) until the provider sends the browser back
    /// to `stop_at`; returns that URL without following it.
    pub(crate) async fn through_provider(&mut self, start: Url, login: &str, stop_at: &str) -> Url {
        let mut page = self.send(&start, None).await;
        for _ in 0..20 {
            if let Some(next) = page.location.clone() {
                if next.as_str().starts_with(stop_at) {
                    return next;
                }
                page = self.send(&next, None).await;
                continue;
            }
            assert_eq!(page.status, StatusCode::OK, "{}: {}", page.url, page.body);
            let action = form_action(&page.body).expect("a form on the provider's page");
            let target = page.url.join(&action).expect("form action");
            page = if page.body.contains("name=\"login\"") {
                let form = [("prompt", "login"), ("login", login), ("password", "any")];
                self.send(&target, Some(&form)).await
            } else {
                self.send(&target, Some(&[("prompt", "consent")])).await
            };
        }
        panic!("the provider never sent the browser back: {}", page.body);
    }
}

pub(crate) fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + "action=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].replace("&amp;", "&"))
}

/// The console (plain HTTP on loopback) with SSO to a live provider.
pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) base: String,
    pub(crate) _provider: Provider,
    _server: tokio::task::JoinHandle<()>,
}

async fn setup(sso_only: bool) -> Option<Setup> {
    setup_with(sso_only, true, true).await
}

/// [`setup`], choosing whether the provider's MFA claim is trusted and
/// whether single sign-on is given as flags (`WebConfig::sso`) at all.
pub(crate) async fn setup_with(sso_only: bool, trust_idp_mfa: bool, flags: bool) -> Option<Setup> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let provider = match start_provider(&format!("{base}/sso/callback")) {
        Ok(provider) => provider,
        Err(why) if std::env::var("PALISADE_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!("PALISADE_REQUIRE_SERVICES=1 but {why}")
        }
        Err(why) => {
            eprintln!("skipping the single sign-on test: {why}");
            return None;
        }
    };
    let config = SsoConfig {
        issuer: provider.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        role_claim: "groups".into(),
        role_map: parse_role_map("sec-team=admin,eng=analyst,audit=auditor").expect("map"),
        default_role: None,
        clock_skew: chrono::Duration::seconds(60),
        trust_idp_mfa,
        mfa_acr_values: vec!["urn:palisade:test:mfa".into()],
    };
    let sso = Sso::new(config, &base).expect("sso config");
    let app = TestApp::with_config(WebConfig {
        hashing: palisade_web::accounts::fast_hashing_for_tests(),
        secure_cookies: false,
        hsts: false,
        public_url: base.clone(),
        sso: flags.then(|| Arc::new(sso)),
        sso_only,
        ..WebConfig::default()
    })
    .await;
    let router = app.router.clone();
    let server = tokio::spawn(async move {
        let _ = serve(listener, router, None, std::future::pending()).await;
    });
    Some(Setup {
        app,
        base,
        _provider: provider,
        _server: server,
    })
}

impl Setup {
    pub(crate) fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.base)).expect("url")
    }

    /// `/sso/start` and through the provider as `login`: the callback URL.
    pub(crate) async fn start(&self, agent: &mut Agent, login: &str) -> Url {
        let start = agent.send(&self.url("/sso/start"), None).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        assert!(agent.cookie("palisade_sso").is_some(), "flow cookie");
        let to_provider = start.location.expect("redirect to the provider");
        let query: BTreeMap<_, _> = to_provider.query_pairs().into_owned().collect();
        assert_eq!(
            query.get("code_challenge_method").map(String::as_str),
            Some("S256")
        );
        for field in ["state", "nonce", "code_challenge"] {
            assert!(query.get(field).is_some_and(|v| v.len() >= 22), "{field}");
        }
        let callback = format!("{}/sso/callback", self.base);
        agent.through_provider(to_provider, login, &callback).await
    }

    /// The sign-in form, filled and posted.
    pub(crate) async fn password_login(
        &self,
        agent: &mut Agent,
        username: &str,
        password: &str,
    ) -> Page {
        let page = agent.send(&self.url("/login"), None).await;
        let start = page.body.find("name=\"csrf\" value=\"").expect("csrf") + 19;
        let csrf = page.body[start..]
            .split('"')
            .next()
            .expect("csrf")
            .to_string();
        let form = [
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ];
        agent.send(&self.url("/login"), Some(&form)).await
    }

    pub(crate) async fn audit(&self, action: &str) -> Vec<palisade_store::AuditRecord> {
        self.app
            .store
            .list_audit(&AuditFilter {
                action_prefix: Some(action.into()),
                limit: 100,
                ..AuditFilter::default()
            })
            .await
            .expect("audit")
            .into_iter()
            .filter(|r| r.action == action)
            .collect()
    }
}

fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let mut changed = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == name {
                (k, value.to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

#[tokio::test]
async fn sign_in_through_a_real_provider_creates_the_user_with_the_mapped_role() {
    let Some(setup) = setup(false).await else {
        return;
    };
    let mut agent = Agent::new();
    let login = agent.send(&setup.url("/login"), None).await;
    assert!(login.body.contains("Sign in with SSO"), "{}", login.body);

    let callback = setup.start(&mut agent, "alice").await;
    assert_eq!(
        callback
            .query_pairs()
            .find(|(k, _)| k == "iss")
            .map(|(_, v)| v.into_owned()),
        Some(setup._provider.issuer.clone())
    );
    let back = agent.send(&callback, None).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location.as_ref().map(Url::path), Some("/"));
    assert!(agent.cookie("palisade_session").is_some(), "session cookie");
    assert!(
        agent.cookie("palisade_sso").is_none(),
        "flow cookie cleared"
    );
    let dashboard = agent.send(&setup.url("/users"), None).await;
    assert_eq!(
        dashboard.status,
        StatusCode::OK,
        "admin pages: {}",
        dashboard.body
    );

    // alice is in sec-team and eng: the first pair of the map (admin) wins.
    let user = setup
        .app
        .store
        .user_by_name("alice")
        .await
        .unwrap()
        .expect("alice");
    assert_eq!(user.role, Role::Admin);
    assert!(user.password_hash.is_none(), "no passphrase for SSO users");
    let linked = setup
        .app
        .store
        .user_by_sso_identity(&setup._provider.issuer, "alice")
        .await
        .unwrap()
        .expect("linked by issuer and subject");
    assert_eq!(linked.id, user.id);
    assert_eq!(setup.audit("sso.user.create").await.len(), 1);
    assert_eq!(setup.audit("sso.login.success").await.len(), 1);

    // Replaying the callback (same code, same state): the flow was used.
    let replay = agent.send(&callback, None).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);

    // A second sign-in finds the same user; no second account.
    let mut second = Agent::new();
    let callback = setup.start(&mut second, "alice").await;
    let back = second.send(&callback, None).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(setup.audit("sso.user.create").await.len(), 1);
    assert_eq!(setup.app.store.count_users().await.unwrap(), 1);

    // A local account named like an SSO user is never taken over: bob gets another name.
    setup.app.user("bob", Role::Viewer).await;
    let mut bob = Agent::new();
    let callback = setup.start(&mut bob, "bob").await;
    let back = bob.send(&callback, None).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let sso_bob = setup
        .app
        .store
        .user_by_sso_identity(&setup._provider.issuer, "bob")
        .await
        .unwrap()
        .expect("bob linked");
    assert_eq!(sso_bob.username, "bob-2");
    assert_eq!(sso_bob.role, Role::Analyst);
    let local_bob = setup.app.store.user_by_name("bob").await.unwrap().unwrap();
    assert_eq!(local_bob.role, Role::Viewer);
}

#[tokio::test]
async fn the_provider_decides_the_role_at_every_sign_in_and_changes_are_audited() {
    let Some(setup) = setup(false).await else {
        return;
    };
    let mut agent = Agent::new();
    let callback = setup.start(&mut agent, "auditor1").await;
    assert_eq!(
        agent.send(&callback, None).await.status,
        StatusCode::SEE_OTHER
    );
    let user = setup
        .app
        .store
        .user_by_name("auditor1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Auditor);
    // An administrator changes the role locally; the next sign-in restores the provider's.
    let now = chrono::Utc::now();
    setup
        .app
        .store
        .set_user_role(user.id, Role::Admin, now)
        .await
        .unwrap();
    let mut again = Agent::new();
    let callback = setup.start(&mut again, "auditor1").await;
    assert_eq!(
        again.send(&callback, None).await.status,
        StatusCode::SEE_OTHER
    );
    let user = setup
        .app
        .store
        .user_by_name("auditor1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Auditor);
    let changes = setup.audit("user.role").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].actor, "sso");
    assert!(changes[0]
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("admin -> auditor"));

    // A disabled account stays out.
    setup
        .app
        .store
        .set_user_disabled(user.id, true, now)
        .await
        .unwrap();
    let mut third = Agent::new();
    let callback = setup.start(&mut third, "auditor1").await;
    let refused = third.send(&callback, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(third.cookie("palisade_session").is_none());
    assert_eq!(setup.audit("sso.refused").await.len(), 1);
}

#[tokio::test]
async fn forged_state_replayed_codes_and_unmapped_groups_are_refused_and_audited() {
    let Some(setup) = setup(false).await else {
        return;
    };
    // State mismatch.
    let mut agent = Agent::new();
    let callback = setup.start(&mut agent, "alice").await;
    let forged = with_param(&callback, "state", "forged-state-value-000000");
    let refused = agent.send(&forged, None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(agent.cookie("palisade_session").is_none());

    // A callback in a browser that did not start the sign-in (login CSRF).
    let mut other = Agent::new();
    let foreign = other.send(&callback, None).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.body);

    // An authorization code used once, then replayed in a new sign-in with
    // the new state: the provider refuses the code (and the PKCE verifier differs).
    let mut first = Agent::new();
    let used = setup.start(&mut first, "bob").await;
    assert_eq!(first.send(&used, None).await.status, StatusCode::SEE_OTHER);
    let mut replayer = Agent::new();
    let fresh = setup.start(&mut replayer, "bob").await;
    let old_code = used
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let replayed = with_param(&fresh, "code", &old_code);
    let refused = replayer.send(&replayed, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(replayer.cookie("palisade_session").is_none());

    // A provider error in the callback.
    let mut denied = Agent::new();
    let callback = setup.start(&mut denied, "bob").await;
    let state = callback
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut error = setup.url("/sso/callback");
    error
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("state", &state);
    assert_eq!(
        denied.send(&error, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A user in no mapped group, and no default role.
    let mut mallory = Agent::new();
    let callback = setup.start(&mut mallory, "mallory").await;
    let refused = mallory.send(&callback, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("not in a group"), "{}", refused.body);
    assert!(setup
        .app
        .store
        .user_by_name("mallory")
        .await
        .unwrap()
        .is_none());

    let failures = setup.audit("sso.failure").await;
    let details: Vec<&str> = failures
        .iter()
        .filter_map(|r| r.detail.as_deref())
        .collect();
    for expected in [
        "state mismatch",
        "no sign-in in progress",
        "code exchange failed",
        "access_denied",
    ] {
        assert!(
            details.iter().any(|d| d.contains(expected)),
            "{expected} in {details:?}"
        );
    }
    let refused = setup.audit("sso.refused").await;
    assert_eq!(refused.len(), 1);
    assert!(refused[0]
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("groups"));
    // Nothing secret in the audit log.
    for record in failures.iter().chain(&refused) {
        let text = format!("{:?} {:?}", record.target, record.detail);
        assert!(
            !text.contains(&old_code) && !text.contains(CLIENT_SECRET),
            "{text}"
        );
    }
}

#[tokio::test]
async fn sso_only_refuses_passphrases_except_for_break_glass_accounts() {
    let Some(setup) = setup(true).await else {
        return;
    };
    let app = &setup.app;
    let admin = app.user("breakglass", Role::Admin).await;
    app.user("carol", Role::Analyst).await;
    app.store
        .set_break_glass(admin.id, true, chrono::Utc::now())
        .await
        .unwrap();

    let page = app.get("/login", None).await;
    assert!(page.body.contains("Sign in with SSO") && page.body.contains("Break-glass"));

    let mut carol = Agent::new();
    let refused = setup.password_login(&mut carol, "carol", PASSPHRASE).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("Passphrase sign-in is turned off"));
    assert!(carol.cookie("palisade_session").is_none());
    // A wrong passphrase still gets the usual answer.
    let wrong = setup
        .password_login(&mut carol, "carol", "not her passphrase")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let mut admin_browser = Agent::new();
    let allowed = setup
        .password_login(&mut admin_browser, "breakglass", PASSPHRASE)
        .await;
    assert_eq!(allowed.status, StatusCode::SEE_OTHER, "{}", allowed.body);
    assert!(admin_browser.cookie("palisade_session").is_some());
    assert_eq!(setup.audit("login.sso-only.refused").await.len(), 1);
    assert_eq!(setup.audit("login.break-glass").await.len(), 1);

    // And SSO itself works under --sso-only.
    let mut agent = Agent::new();
    let callback = setup.start(&mut agent, "bob").await;
    assert_eq!(
        agent.send(&callback, None).await.status,
        StatusCode::SEE_OTHER
    );
}
