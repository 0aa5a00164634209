//! The console over HTTP: every route for every role, sign-in and its
//! throttling, sessions, CSRF, headers and the audit trail.

mod api;
mod auth;
mod common;
mod mfa;
mod pages;
mod proxy;
mod routes;
mod sso;
mod sso_ops;
mod tls;
mod webauthn;
