//! `palisade users ...`: console accounts from the command line. Every
//! change is recorded in the audit log as `cli:<os user>`.

use std::io::Read;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::{Args, Subcommand};
use palisade_store::{Role, Store, User};
use palisade_web::accounts::{self, audit_cli, ENROL_PATH};
use palisade_web::WebConfig;

use super::{actor, block_on, open_store};
use crate::args::GlobalArgs;
use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user. Prints a one-time link (valid one hour) for them to
    /// choose a passphrase, unless --password-stdin gives one.
    Create(CreateArgs),
    /// List users, roles and status.
    List,
    /// Change a user's role (their sessions end).
    Role(RoleArgs),
    /// Disable an account: every session ends at once and sign-in is refused.
    Disable(NameArgs),
    /// Enable a disabled account.
    Enable(NameArgs),
    /// A new one-time link for a user to choose a new passphrase (lost passphrase).
    Link(LinkArgs),
    /// Remove a user's second factor and recovery codes (lost authenticator);
    /// their sessions end. They enrol again at sign-in if MFA is required.
    ResetMfa(NameArgs),
    /// Mark an account break-glass: it may still sign in with a passphrase
    /// when the console runs with --sso-only (--off removes the mark).
    BreakGlass(BreakGlassArgs),
}

#[derive(Debug, Args)]
pub struct BreakGlassArgs {
    pub username: String,
    #[arg(long)]
    pub off: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub username: String,
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Read the passphrase from standard input instead of printing an enrolment link.
    #[arg(long)]
    pub password_stdin: bool,
    /// Break-glass account: may sign in with a passphrase under `serve --sso-only`.
    #[arg(long)]
    pub break_glass: bool,
    #[command(flatten)]
    pub url: UrlArgs,
}

#[derive(Debug, Args)]
pub struct UrlArgs {
    /// The URL browsers use to reach the console, for the printed link.
    #[arg(long, value_name = "URL", default_value = "https://127.0.0.1:8080")]
    pub public_url: String,
}

#[derive(Debug, Args)]
pub struct RoleArgs {
    pub username: String,
    #[arg(value_parser = parse_role)]
    pub role: Role,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    pub username: String,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    pub username: String,
    #[command(flatten)]
    pub url: UrlArgs,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|e: palisade_store::ParseRoleError| e.to_string())
}

pub fn run(global: &GlobalArgs, command: UsersCommand) -> Result<Outcome> {
    block_on(async {
        let store = open_store(global).await?;
        let result = execute(&store, command).await;
        store.close().await;
        result
    })??;
    Ok(Outcome::Clean)
}

async fn find(store: &Store, username: &str) -> Result<User> {
    store
        .user_by_name(username)
        .await?
        .with_context(|| format!("no user named `{username}`"))
}

fn link(url: &UrlArgs, token: &str) -> String {
    format!(
        "{}{ENROL_PATH}{token}",
        url.public_url.trim_end_matches('/')
    )
}

async fn execute(store: &Store, command: UsersCommand) -> Result<()> {
    let config = WebConfig::default();
    let now = Utc::now();
    let me = actor(None);
    match command {
        UsersCommand::Create(args) => {
            let passphrase = if args.password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the passphrase from standard input")?;
                Some(text.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let (user, token) = accounts::create_user(
                store,
                &config,
                args.username.trim(),
                args.role,
                passphrase.as_deref(),
                now,
            )
            .await?;
            audit_cli(
                store,
                &me,
                "user.create",
                &user.username,
                Some(format!("role {}", user.role)),
                now,
            )
            .await?;
            if args.break_glass {
                set_break_glass(store, &me, &user, true, now).await?;
            }
            match token {
                Some(token) => println!(
                    "created {} ({}). Send them this one-time link (valid one hour):\n  {}",
                    user.username,
                    user.role,
                    link(&args.url, &token)
                ),
                None => println!("created {} ({})", user.username, user.role),
            }
        }
        UsersCommand::List => {
            for user in store.list_users().await? {
                let status = if user.disabled {
                    "disabled"
                } else if user.password_hash.is_none() && store.has_sso_identity(user.id).await? {
                    "sso"
                } else if user.password_hash.is_none() {
                    "invited"
                } else {
                    "active"
                };
                let last = user
                    .last_login_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "never".into());
                println!(
                    "{:<24} {:<8} {:<8} last sign-in {last}",
                    user.username, user.role, status
                );
            }
        }
        UsersCommand::Role(args) => {
            let user = find(store, &args.username).await?;
            if args.role != Role::Admin && accounts::would_remove_last_admin(store, &user).await? {
                bail!("{} is the last enabled administrator", user.username);
            }
            store.set_user_role(user.id, args.role, now).await?;
            audit_cli(
                store,
                &me,
                "user.role",
                &user.username,
                Some(format!("{} -> {}", user.role, args.role)),
                now,
            )
            .await?;
            eprintln!(
                "{} is now {}; their sessions ended",
                user.username, args.role
            );
        }
        UsersCommand::Disable(args) => {
            let user = find(store, &args.username).await?;
            if accounts::would_remove_last_admin(store, &user).await? {
                bail!("{} is the last enabled administrator", user.username);
            }
            store.set_user_disabled(user.id, true, now).await?;
            audit_cli(store, &me, "user.disable", &user.username, None, now).await?;
            eprintln!("{} is disabled; their sessions ended", user.username);
        }
        UsersCommand::Enable(args) => {
            let user = find(store, &args.username).await?;
            store.set_user_disabled(user.id, false, now).await?;
            audit_cli(store, &me, "user.enable", &user.username, None, now).await?;
            eprintln!("{} is enabled", user.username);
        }
        UsersCommand::Link(args) => {
            let user = find(store, &args.username).await?;
            let token = accounts::enrolment_link(store, &config, &user, now).await?;
            audit_cli(store, &me, "user.link", &user.username, None, now).await?;
            println!(
                "one-time link for {} (valid one hour):\n  {}",
                user.username,
                link(&args.url, &token)
            );
        }
        UsersCommand::ResetMfa(args) => {
            let user = find(store, &args.username).await?;
            let had = store.remove_mfa(user.id, true).await?;
            let detail = if had {
                "second factor removed, sessions ended"
            } else {
                "no second factor; sessions ended"
            };
            audit_cli(
                store,
                &me,
                "mfa.reset",
                &user.username,
                Some(detail.into()),
                now,
            )
            .await?;
            eprintln!("{}: {detail}", user.username);
        }
        UsersCommand::BreakGlass(args) => {
            let user = find(store, &args.username).await?;
            set_break_glass(store, &me, &user, !args.off, now).await?;
            if args.off {
                eprintln!("{} is no longer a break-glass account", user.username);
            } else {
                eprintln!(
                    "{} is a break-glass account: passphrase sign-in stays open under --sso-only",
                    user.username
                );
            }
        }
    }
    Ok(())
}

async fn set_break_glass(
    store: &Store,
    me: &str,
    user: &User,
    on: bool,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    store.set_break_glass(user.id, on, now).await?;
    let action = if on {
        "user.break-glass"
    } else {
        "user.break-glass.off"
    };
    audit_cli(store, me, action, &user.username, None, now).await?;
    Ok(())
}
