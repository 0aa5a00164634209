//! Palisade's web console: a server-rendered, multi-user app over the store,
//! built to be the model of a secure SaaS app.
//!
//! # Overview
//!
//! - [`app::router`] builds the axum router from [`app::routes`], the one table
//!   of every route and the [`authz::Permission`] it needs; [`authz::guard`]
//!   wraps each route and does authentication (server-side sessions),
//!   authorisation (deny by default) and CSRF checks in one place.
//! - [`handlers`] render askama templates (auto-escaped, no script at all,
//!   charts as server-side SVG from [`svg`]).
//! - Accounts: Argon2id passphrases ([`password`]), sign-in throttling per
//!   account and per client address, one-time enrolment links
//!   ([`accounts`]), and every security-relevant action appended to the
//!   store's hash-chained audit log.
//! - Second factor: TOTP with recovery codes ([`mfa`], [`handlers::mfa`]),
//!   TOTP seeds sealed by `palisade-vault`; the MFA policy and SLAs on the
//!   settings page ([`handlers::settings`]).
//! - Single sign-on with OpenID Connect ([`oidc`], [`handlers::sso`]), set by
//!   `palisade serve` flags or on the settings page ([`handlers::sso_settings`]).
//! - [`client_ip`]: the client's address, from forwarding headers only when
//!   the peer is a `--trusted-proxy`.
//! - [`server::serve`] runs it over plain HTTP or TLS (rustls, aws-lc-rs).
//!
//! The store owns the data (users, sessions, audit log, findings); this
//! crate owns the HTTP surface and the security policy.

pub mod accounts;
pub mod api_auth;
pub mod app;
pub mod authz;
pub mod client_ip;
mod error;
pub mod handlers;
pub mod mfa;
pub mod oidc;
pub mod password;
pub mod secrets;
pub mod server;
pub mod session;
pub mod state;
pub mod svg;

pub use app::{router, routes};
pub use error::WebError;
pub use state::{AppState, Clock, ThrottlePolicy, WebConfig};
