//! `palisade serve`: the web console over the store.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use palisade_web::accounts::{first_admin_link, ENROL_PATH};
use palisade_web::server::{certificate_fingerprint, serve, tls_from_files, tls_self_signed};
use palisade_web::{AppState, Clock, WebConfig};

use super::open_store;
use crate::args::GlobalArgs;
use crate::Outcome;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub bind: SocketAddr,
    /// TLS certificate chain (PEM), with --tls-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM), with --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve TLS with a self-signed certificate for localhost, kept in the
    /// palisade home directory and made on first use.
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Serve plain HTTP to a TLS-terminating proxy: cookies stay `Secure`
    /// with the `__Host-` prefix and HSTS is sent, since browsers see HTTPS.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_self_signed"])]
    pub behind_tls_proxy: bool,
    /// The URL browsers use to reach the console, for the links it prints
    /// (default: from --bind and the TLS choice).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub sso: super::sso::SsoArgs,
    #[command(flatten)]
    pub proxy: super::proxy::ProxyArgs,
}

pub fn run(global: &GlobalArgs, args: ServeArgs) -> Result<Outcome> {
    let tls_chosen = args.tls_cert.is_some() || args.tls_self_signed;
    if !tls_chosen && !args.behind_tls_proxy && !args.bind.ip().is_loopback() {
        bail!(
            "refusing to serve plain HTTP on {}: passwords and sessions would cross the network \
             in clear; use --tls-cert/--tls-key, --tls-self-signed, or --behind-tls-proxy",
            args.bind
        );
    }
    let home = palisade_store::default_home_dir();
    let (tls, certificate_note) = if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        (Some(tls_from_files(cert, key)?), None)
    } else if args.tls_self_signed {
        let (config, cert_path) = tls_self_signed(&home)?;
        let fingerprint = certificate_fingerprint(&cert_path)?;
        (Some(config), Some((cert_path, fingerprint)))
    } else {
        (None, None)
    };
    let https = tls.is_some() || args.behind_tls_proxy;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{}://{}", if https { "https" } else { "http" }, args.bind))
        .trim_end_matches('/')
        .to_string();
    let sso = super::sso::configure(&args.sso, &public_url)?;
    if let Some(sso) = &sso {
        println!(
            "Single sign-on through {} (redirect URL {}, post-logout redirect URL {})",
            sso.config().issuer,
            sso.redirect_url(),
            sso.post_logout_url()
        );
    }
    let trusted_proxies = super::proxy::configure(&args.proxy)?;
    let config = WebConfig {
        sso,
        sso_only: args.sso.sso_only,
        trusted_proxies,
        secure_cookies: https,
        hsts: https,
        public_url: public_url.clone(),
        ..WebConfig::default()
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = open_store(global).await?;
        let now = chrono::Utc::now();
        if let Some(token) = first_admin_link(&store, &config, now).await? {
            println!(
                "No users yet. Within one hour, open this one-time link to create the first administrator:\n  {public_url}{ENROL_PATH}{token}"
            );
        }
        let vault = super::keys::open_vault(&store, &home, now).await?;
        let state = AppState::new(store, config, Clock::default())?;
        state.set_vault(vault);
        // Single sign-on saved on the settings page (flags take precedence).
        state.reload_sso_settings().await?;
        let router = palisade_web::router(state);
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("cannot listen on {}", args.bind))?;
        if let Some((path, fingerprint)) = certificate_note {
            println!(
                "Self-signed certificate {} (SHA-256 {fingerprint})",
                path.display()
            );
        }
        if !https {
            println!("Plain HTTP for local development only; cookies are not marked Secure.");
        }
        println!("Palisade console on {public_url} (Ctrl-C stops it)");
        serve(listener, router, tls, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Clean)
}
