//! A console on a temporary store, driven with `tower::ServiceExt::oneshot`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, Response, StatusCode};
use axum::Router;
use palisade_core::{Category, Finding, Resource, Rule, ScanOutput, Severity};
use palisade_store::{NewRun, Role, SlaPolicy, Store, User};
use palisade_web::accounts::{create_user, fast_hashing_for_tests};
use palisade_web::{AppState, Clock, WebConfig};
use tempfile::TempDir;
use tower::ServiceExt;

pub const PASSPHRASE: &str = "purple turtle under the moon";
pub const ADDRESS: &str = "192.0.2.10:50000";

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub store: Store,
    _dir: TempDir,
}

/// A browser: its session cookie and the CSRF token of its pages.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    }

    /// The value of the cookie `name` this response sets (non-empty).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let value = c.strip_prefix(&format!("{name}="))?.split(';').next()?;
            (!value.is_empty()).then(|| value.to_string())
        })
    }

    /// The first `csrf` hidden field of the page.
    pub fn csrf(&self) -> Option<String> {
        let start = self.body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_string())
    }
}

pub const SESSION_COOKIE: &str = "__Host-palisade_session";
pub const PRE_COOKIE: &str = "__Host-palisade_pre";

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(WebConfig {
            hashing: fast_hashing_for_tests(),
            ..WebConfig::default()
        })
        .await
    }

    pub async fn with_config(config: WebConfig) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("palisade.db");
        let store = Store::open(path.to_str().expect("utf-8"))
            .await
            .expect("store");
        let state = AppState::new(store.clone(), config, Clock::default()).expect("state");
        let master = palisade_vault::MasterKey::load_or_create_file(&dir.path().join("master.key"))
            .expect("master key");
        let vault = palisade_vault::Vault::open(&store, &master, state.now())
            .await
            .expect("vault");
        state.set_vault(vault);
        let router = palisade_web::router(state.clone());
        TestApp {
            state,
            router,
            store,
            _dir: dir,
        }
    }

    /// A user with [`PASSPHRASE`].
    pub async fn user(&self, name: &str, role: Role) -> User {
        create_user(
            &self.store,
            self.state.config(),
            name,
            role,
            Some(PASSPHRASE),
            self.state.now(),
        )
        .await
        .expect("create user")
        .0
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let mut request = request;
        if request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_none()
        {
            let address: SocketAddr = ADDRESS.parse().expect("address");
            request.extensions_mut().insert(ConnectInfo(address));
        }
        let response: Response<Body> = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, browser: Option<&Browser>) -> Reply {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Some(browser) = browser {
            request = request.header(header::COOKIE, &browser.cookie);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    /// A form post; the browser's CSRF token is added unless `fields` has one.
    pub async fn post(
        &self,
        path: &str,
        browser: Option<&Browser>,
        fields: &[(&str, &str)],
    ) -> Reply {
        self.post_from(path, browser, fields, ADDRESS).await
    }

    pub async fn post_from(
        &self,
        path: &str,
        browser: Option<&Browser>,
        fields: &[(&str, &str)],
        address: &str,
    ) -> Reply {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if let Some(browser) = browser {
            if !fields.iter().any(|(k, _)| *k == "csrf") {
                fields.push(("csrf", &browser.csrf));
            }
        }
        let body = serde_urlencoded::to_string(&fields).expect("form");
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(browser) = browser {
            request = request.header(header::COOKIE, &browser.cookie);
        }
        let mut request = request.body(Body::from(body)).expect("request");
        let address: SocketAddr = address.parse().expect("address");
        request.extensions_mut().insert(ConnectInfo(address));
        self.send(request).await
    }

    /// A fresh browser on the sign-in page: its pre-session cookie and token.
    pub async fn login_page(&self) -> Browser {
        let page = self.get("/login", None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        Browser {
            cookie: format!(
                "{PRE_COOKIE}={}",
                page.cookie(PRE_COOKIE).expect("pre cookie")
            ),
            csrf: page.csrf().expect("csrf field"),
        }
    }

    /// Signs in through the form and returns the signed-in browser.
    pub async fn login(&self, username: &str, passphrase: &str) -> Result<Browser, Reply> {
        let browser = self.login_page().await;
        let reply = self
            .post(
                "/login",
                Some(&browser),
                &[("username", username), ("password", passphrase)],
            )
            .await;
        if reply.status != StatusCode::SEE_OTHER {
            return Err(reply);
        }
        let session = reply.cookie(SESSION_COOKIE).expect("session cookie");
        let mut browser = Browser {
            cookie: format!("{SESSION_COOKIE}={session}"),
            csrf: String::new(),
        };
        let account = self.get("/account", Some(&browser)).await;
        assert_eq!(account.status, StatusCode::OK, "{}", account.body);
        browser.csrf = account.csrf().expect("csrf on the account page");
        Ok(browser)
    }

    pub async fn signed_in(&self, name: &str, role: Role) -> Browser {
        self.user(name, role).await;
        self.login(name, PASSPHRASE)
            .await
            .unwrap_or_else(|r| panic!("login {name}: {} {}", r.status, r.body))
    }

    /// Records a scan with `count` findings; returns their row ids, most severe first.
    pub async fn findings(&self, titles: &[&str]) -> Vec<i64> {
        let findings: Vec<Finding> = titles
            .iter()
            .enumerate()
            .map(|(i, title)| {
                let rule = Rule {
                    id: format!("test.rule.{i}"),
                    title: (*title).into(),
                    severity: Severity::High,
                    category: Category::Misconfiguration,
                    description: String::new(),
                    remediation: "Fix it.".into(),
                    references: vec![].into(),
                    compliance: vec![].into(),
                    peers: vec![],
                };
                Finding::new(
                    &rule,
                    Resource::in_file("aws_s3_bucket", format!("b{i}"), "main.tf"),
                    "wrong",
                )
            })
            .collect();
        let output = ScanOutput {
            findings,
            errors: vec![],
            inputs_scanned: 1,
        };
        let now = self.state.now();
        let run = NewRun {
            engine: "iac".into(),
            scope: "/repo".into(),
            started_at: now,
        };
        self.store
            .record_scan(run, &output, true, &SlaPolicy::default(), now)
            .await
            .expect("record scan");
        let page = self
            .store
            .findings_page(
                &palisade_store::FindingQuery {
                    limit: 500,
                    ..Default::default()
                },
                now,
            )
            .await
            .expect("page");
        page.findings.iter().map(|f| f.id).collect()
    }

    /// The actions in the audit log, oldest first.
    pub async fn audit_actions(&self) -> Vec<(String, String)> {
        let mut records = self
            .store
            .list_audit(&palisade_store::AuditFilter {
                limit: 1000,
                ..Default::default()
            })
            .await
            .expect("audit");
        records.reverse();
        records.into_iter().map(|r| (r.actor, r.action)).collect()
    }
}
