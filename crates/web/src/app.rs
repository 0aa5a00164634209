//! The router: every route with its permission, and the layers around them.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use crate::authz::{guard, Permission};
use crate::error::{error_response, is_bare_error};
use crate::handlers::{
    account, admin, api, mfa, pages, settings, sso, sso_settings, tokens, webauthn,
};
use crate::state::AppState;
use crate::WebError;

/// One route of the console.
pub struct Route {
    pub method: Method,
    /// In axum's syntax (`/findings/{id}`).
    pub path: &'static str,
    pub permission: Permission,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, permission: Permission, handler: H) -> Route
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let filter = if method == Method::POST {
        MethodFilter::POST
    } else {
        MethodFilter::GET
    };
    Route {
        method,
        path,
        permission,
        handler: on(filter, handler),
    }
}

/// Every route, with the permission it needs. Nothing is reachable that is
/// not listed here, and nothing is listed without a permission.
pub fn routes() -> Vec<Route> {
    use Permission::*;
    let get = Method::GET;
    let post = Method::POST;
    vec![
        route(
            get.clone(),
            "/static/palisade.css",
            Public,
            pages::stylesheet,
        ),
        route(get.clone(), "/healthz", Public, pages::health),
        route(get.clone(), "/login", Public, account::login_form),
        route(post.clone(), "/login", Public, account::login),
        route(get.clone(), "/enrol", Public, account::enrol_form),
        route(post.clone(), "/enrol", Public, account::enrol),
        route(post.clone(), "/logout", SignedIn, account::logout),
        route(get.clone(), "/account", SignedIn, account::account_page),
        route(
            post.clone(),
            "/account/password",
            SignedIn,
            account::change_password,
        ),
        route(get.clone(), "/", ReadFindings, pages::dashboard),
        route(get.clone(), "/findings", ReadFindings, pages::findings),
        route(get.clone(), "/findings/{id}", ReadFindings, pages::finding),
        route(
            post.clone(),
            "/findings/{id}/suppress",
            WriteFindings,
            pages::suppress,
        ),
        route(
            post.clone(),
            "/findings/{id}/unsuppress",
            WriteFindings,
            pages::unsuppress,
        ),
        route(get.clone(), "/runs", ReadFindings, pages::runs),
        route(get.clone(), "/assets", ReadFindings, pages::assets),
        route(get.clone(), "/users", ReadUsers, admin::users),
        route(post.clone(), "/users", ManageUsers, admin::create_user),
        route(
            post.clone(),
            "/users/{id}/role",
            ManageUsers,
            admin::set_role,
        ),
        route(
            post.clone(),
            "/users/{id}/disable",
            ManageUsers,
            admin::disable,
        ),
        route(
            post.clone(),
            "/users/{id}/enable",
            ManageUsers,
            admin::enable,
        ),
        route(get.clone(), "/audit", ReadAudit, admin::audit_log),
        route(get.clone(), "/login/mfa", MfaPending, mfa::login_form),
        route(post.clone(), "/login/mfa", MfaPending, mfa::login),
        route(get.clone(), "/login/mfa/enrol", MfaPending, mfa::enrol_form),
        route(post.clone(), "/login/mfa/enrol", MfaPending, mfa::enrol),
        route(get.clone(), "/account/mfa", SignedIn, mfa::account),
        route(post.clone(), "/account/mfa/confirm", SignedIn, mfa::confirm),
        route(post.clone(), "/account/mfa/disable", SignedIn, mfa::disable),
        route(
            post.clone(),
            "/users/{id}/reset-mfa",
            ManageUsers,
            mfa::reset,
        ),
        route(get.clone(), "/settings", ReadSettings, settings::settings),
        route(
            post.clone(),
            "/settings/mfa",
            ManageSettings,
            settings::set_mfa_policy,
        ),
        route(
            post.clone(),
            "/settings/sla",
            ManageSettings,
            settings::set_sla,
        ),
        route(get.clone(), "/tokens", SignedIn, tokens::tokens),
        route(post.clone(), "/tokens", SignedIn, tokens::create_token),
        route(
            post.clone(),
            "/tokens/{id}/revoke",
            SignedIn,
            tokens::revoke_token,
        ),
        route(get.clone(), "/api/v1/findings", ApiRead, api::list_findings),
        route(get.clone(), "/api/v1/findings/{id}", ApiRead, api::finding),
        route(
            post.clone(),
            api::SCANS_PATH,
            ApiWriteFindings,
            api::upload_scan,
        ),
        route(get.clone(), "/sso/start", Public, sso::start),
        route(get.clone(), "/sso/callback", Public, sso::callback),
        route(
            post.clone(),
            "/settings/sso",
            ManageSettings,
            sso_settings::save,
        ),
        route(
            post.clone(),
            "/settings/sso/delete",
            ManageSettings,
            sso_settings::delete,
        ),
        route(get.clone(), "/static/webauthn.js", Public, webauthn::script),
        route(get.clone(), "/account/keys", SignedIn, webauthn::keys),
        route(
            post.clone(),
            "/account/keys/register/begin",
            SignedIn,
            webauthn::register_begin,
        ),
        route(
            post.clone(),
            "/account/keys/register/finish",
            SignedIn,
            webauthn::register_finish,
        ),
        route(
            post.clone(),
            "/account/keys/{id}/remove",
            SignedIn,
            webauthn::remove,
        ),
        route(
            get.clone(),
            "/login/mfa/key",
            MfaPending,
            webauthn::login_form,
        ),
        route(
            post.clone(),
            "/login/mfa/key/begin",
            MfaPending,
            webauthn::login_begin,
        ),
        route(
            post.clone(),
            "/login/mfa/key/finish",
            MfaPending,
            webauthn::login_finish,
        ),
    ]
}

/// The console as a service: routes behind their guard, then (outermost
/// last) the body limit, the timeout, error pages, security headers and
/// the request log.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let mut router = Router::new();
    for route in routes() {
        // Scan uploads may be large; every other body is a small form.
        let body_limit = if route.path == api::SCANS_PATH {
            api::MAX_UPLOAD_BYTES
        } else {
            config.body_limit
        };
        let guarded: MethodRouter<AppState> = route
            .handler
            .route_layer(middleware::from_fn_with_state(
                (state.clone(), route.permission),
                guard,
            ))
            .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(body_limit))
            .layer::<_, std::convert::Infallible>(RequestBodyLimitLayer::new(body_limit));
        router = router.route(route.path, guarded);
    }
    router
        .fallback(|| async { WebError::NotFound })
        .with_state(state.clone())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(middleware::from_fn(error_pages))
        .layer(middleware::from_fn_with_state(state, security_headers))
        .layer(middleware::from_fn(request_log))
}

/// Gives responses made outside handlers (413, 408, 405) the error page.
async fn error_pages(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !is_bare_error(&response) {
        return response;
    }
    let status = response.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.",
        StatusCode::REQUEST_TIMEOUT => "The request took too long.",
        StatusCode::METHOD_NOT_ALLOWED => "This page does not accept that method.",
        _ => "The request could not be handled.",
    };
    let id = request_error_id();
    tracing::info!(error_id = %id, status = status.as_u16(), "request refused");
    let mut page = error_response(status, "Cannot do that", message, &id);
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}

fn request_error_id() -> String {
    crate::secrets::random_token()
        .map(|t| t[..16].to_string())
        .unwrap_or_else(|_| "unavailable".into())
}

/// The policy of every page: no script at all, styles and images from here.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The same headers on every response: a CSP that allows no script at all
/// (the security-key pages: only the console's own /static/webauthn.js),
/// no framing, no MIME sniffing, no referrer to other sites, and HSTS when
/// the console is reached over HTTPS.
async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    // A handler may set its own: the sign-out through the provider widens
    // `form-action`; the security-key pages add `script-src 'self'` for
    // /static/webauthn.js (handlers/webauthn.rs).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(headers, "content-security-policy", CONTENT_SECURITY_POLICY);
    }
    set(headers, "x-frame-options", "DENY");
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "cross-origin-opener-policy", "same-origin");
    set(headers, "cross-origin-resource-policy", "same-origin");
    set(
        headers,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, "cache-control", "no-store");
    }
    if state.config().hsts {
        set(
            headers,
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// A random id per request, in the response (`x-request-id`) and on the one
/// log line per request. The line holds the route pattern, never the query
/// string (enrolment tokens travel there), nor cookies or addresses.
async fn request_log(mut request: Request, next: Next) -> Response {
    let id = request_error_id();
    let method = request.method().clone();
    let started = Instant::now();
    request.extensions_mut().insert(RequestId(id.clone()));
    // Everything logged while handling the request (errors with their error
    // id included) carries the request id through this span.
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    tracing::info!(
        request_id = %id,
        %method,
        route,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The id [`request_log`] gave the request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address, for the audit log and per-address throttling.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp
where
    AppState: axum::extract::FromRef<S>,
{
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp("unknown".into()));
        };
        // Forwarding headers count only from a `--trusted-proxy` peer.
        let state = <AppState as axum::extract::FromRef<S>>::from_ref(state);
        let proxies = &state.config().trusted_proxies;
        Ok(ClientIp(
            proxies.client_ip(peer.0.ip(), &parts.headers).to_string(),
        ))
    }
}
