//! `palisade serve` options for OpenID Connect single sign-on.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use palisade_store::Role;
use palisade_web::oidc::{parse_role_map, Sso, SsoConfig};

#[derive(Debug, Args, Default)]
pub struct SsoArgs {
    /// OpenID Connect issuer URL of the identity provider (https; discovery
    /// reads ISSUER/.well-known/openid-configuration). Turns on single sign-on.
    #[arg(long, value_name = "URL", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    /// Client id registered at the provider; its redirect URL must be
    /// PUBLIC_URL/sso/callback.
    #[arg(long, value_name = "ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// Name of the environment variable holding the client secret (never
    /// the secret itself on the command line). Without it: a public client (PKCE only).
    #[arg(long, value_name = "VAR", requires = "oidc_issuer")]
    pub oidc_client_secret_env: Option<String>,
    /// ID-token claim holding the user's groups.
    #[arg(long, value_name = "CLAIM", default_value = "groups")]
    pub oidc_role_claim: String,
    /// Group to role, first match wins: 'sec-team=admin,eng=analyst,audit=auditor'.
    #[arg(long, value_name = "MAP", default_value = "")]
    pub oidc_role_map: String,
    /// Role for users in no mapped group (default: refuse them).
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    pub oidc_default_role: Option<Role>,
    /// Tolerated clock difference with the provider, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub oidc_clock_skew: u32,
    /// Whether an ID token asserting MFA (`amr` mfa, otp or hwk, or an
    /// --oidc-mfa-acr value) replaces the console's own second step when
    /// administrators require MFA.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub oidc_trust_idp_mfa: bool,
    /// An `acr` value that means the provider did MFA (repeatable).
    #[arg(long, value_name = "ACR")]
    pub oidc_mfa_acr: Vec<String>,
    /// Refuse passphrase sign-in except for break-glass accounts
    /// (`palisade users break-glass NAME`). Needs --oidc-issuer.
    #[arg(long, requires = "oidc_issuer")]
    pub sso_only: bool,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|e: palisade_store::ParseRoleError| e.to_string())
}

/// The configured provider (`None` without --oidc-issuer).
pub fn configure(args: &SsoArgs, public_url: &str) -> Result<Option<Arc<Sso>>> {
    let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) else {
        return Ok(None);
    };
    let client_secret = match &args.oidc_client_secret_env {
        Some(var) => {
            let secret = std::env::var(var).with_context(|| {
                format!("--oidc-client-secret-env: environment variable {var} is not set")
            })?;
            if secret.trim().is_empty() {
                bail!("--oidc-client-secret-env: environment variable {var} is empty");
            }
            Some(secret)
        }
        None => None,
    };
    let role_map = parse_role_map(&args.oidc_role_map).context("--oidc-role-map")?;
    if role_map.is_empty() && args.oidc_default_role.is_none() {
        bail!("--oidc-issuer needs --oidc-role-map (or --oidc-default-role): nobody could sign in");
    }
    let config = SsoConfig {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        client_secret,
        role_claim: args.oidc_role_claim.clone(),
        role_map,
        default_role: args.oidc_default_role,
        clock_skew: chrono::Duration::seconds(i64::from(args.oidc_clock_skew)),
        trust_idp_mfa: args.oidc_trust_idp_mfa,
        mfa_acr_values: args.oidc_mfa_acr.clone(),
    };
    Ok(Some(Arc::new(Sso::new(config, public_url)?)))
}
