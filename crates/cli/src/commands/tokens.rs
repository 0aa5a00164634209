//! `palisade tokens ...`: API tokens from the command line, for CI set-up
//! on the server. A new token is printed once, on standard output alone (so
//! it can be captured); everything is recorded in the audit log as
//! `cli:<os user>`.

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Args, Subcommand};
use palisade_store::Store;
use palisade_web::accounts::audit_cli;
use palisade_web::api_auth::{issue_token, parse_expiry, parse_scopes};

use super::{actor, block_on, open_store};
use crate::args::GlobalArgs;
use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token for a user and print it (shown only this once).
    Create(CreateTokenArgs),
    /// List tokens (never the tokens themselves): all, or one user's.
    List(ListTokensArgs),
    /// Revoke a token by id; it stops working at once.
    Revoke(RevokeTokenArgs),
}

#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    /// The user the token acts as (it never has more rights than their role).
    #[arg(long)]
    pub user: String,
    /// What uses the token (`github-actions`, `nightly scan`).
    #[arg(long)]
    pub name: String,
    /// Scopes, comma-separated: read, write-findings.
    #[arg(long, default_value = "read")]
    pub scope: String,
    /// Days until it expires (`90`, `90d`) or a date (YYYY-MM-DD); at most a year.
    #[arg(long, default_value = "90")]
    pub expires: String,
}

#[derive(Debug, Args)]
pub struct ListTokensArgs {
    /// Only this user's tokens.
    #[arg(long)]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    /// The token's id, as `tokens list` shows it.
    pub id: i64,
}

pub fn run(global: &GlobalArgs, command: TokensCommand) -> Result<Outcome> {
    block_on(async {
        let store = open_store(global).await?;
        let result = execute(&store, command).await;
        store.close().await;
        result
    })??;
    Ok(Outcome::Clean)
}

async fn user_id(store: &Store, username: &str) -> Result<palisade_store::User> {
    store
        .user_by_name(username)
        .await?
        .with_context(|| format!("no user named `{username}`"))
}

async fn execute(store: &Store, command: TokensCommand) -> Result<()> {
    let now = Utc::now();
    let me = actor(None);
    match command {
        TokensCommand::Create(args) => {
            let user = user_id(store, &args.user).await?;
            let scopes = parse_scopes(&args.scope).context("--scope")?;
            let expires_at = parse_expiry(&args.expires, now).context("--expires")?;
            let issued = issue_token(store, &user, &args.name, scopes, expires_at, now).await?;
            let stored = &issued.stored;
            let scopes: Vec<&str> = stored.scopes.iter().map(|s| s.as_str()).collect();
            audit_cli(
                store,
                &me,
                "token.create",
                &format!("token {} of {}", stored.id, stored.username),
                Some(format!(
                    "name {:?}, scopes {}, expires {}",
                    stored.name,
                    scopes.join(" "),
                    stored.expires_at.date_naive()
                )),
                now,
            )
            .await?;
            eprintln!(
                "token {} for {} ({}), expires {} UTC; it is shown only now:",
                stored.id,
                stored.username,
                scopes.join(", "),
                stored.expires_at.format("%Y-%m-%d %H:%M")
            );
            println!("{}", issued.token);
        }
        TokensCommand::List(args) => {
            let owner = match &args.user {
                Some(name) => Some(user_id(store, name).await?.id),
                None => None,
            };
            let minute = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
            println!(
                "{:>4}  {:<16} {:<24} {:<13} {:<20} {:<16} {:<16} status",
                "id", "user", "name", "starts with", "scopes", "expires", "last used"
            );
            for token in store.list_api_tokens(owner).await? {
                let status = if token.revoked_at.is_some() {
                    "revoked"
                } else if token.expires_at <= now {
                    "expired"
                } else {
                    "active"
                };
                let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{:>4}  {:<16} {:<24} {:<13} {:<20} {:<16} {:<16} {status}",
                    token.id,
                    token.username,
                    token.name,
                    token.prefix,
                    scopes.join(","),
                    minute(token.expires_at),
                    token
                        .last_used_at
                        .map(minute)
                        .unwrap_or_else(|| "never".into()),
                );
            }
        }
        TokensCommand::Revoke(args) => {
            let token = store.revoke_api_token(args.id, None, now).await?;
            audit_cli(
                store,
                &me,
                "token.revoke",
                &format!("token {} of {}", token.id, token.username),
                Some(format!("name {:?}", token.name)),
                now,
            )
            .await?;
            eprintln!(
                "token {} ({}) of {} is revoked",
                token.id, token.name, token.username
            );
        }
    }
    Ok(())
}
