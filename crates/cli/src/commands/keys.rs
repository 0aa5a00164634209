//! `palisade keys rotate`: a new master key for the vault that seals the
//! secrets the server holds (TOTP seeds). Data keys are re-wrapped in one
//! transaction; sealed values stay as they are. Audited as `cli:<os user>`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use palisade_store::Store;
use palisade_vault::{
    rotate, rotate_master_key_file, MasterKey, Vault, MASTER_KEY_ENV, MASTER_KEY_FILE,
};
use palisade_web::accounts::audit_cli;

use super::{actor, block_on, open_store};
use crate::args::GlobalArgs;
use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Replace the master key: `$PALISADE_HOME/master.key` gets a new key,
    /// or, when the key comes from PALISADE_MASTER_KEY, the new key is read
    /// from the variable named by --new-key-env.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// With PALISADE_MASTER_KEY: the environment variable holding the new
    /// key (64 hex characters, e.g. from `openssl rand -hex 32`).
    #[arg(long, value_name = "VAR")]
    pub new_key_env: Option<String>,
}

/// The master key (environment, else the key file in `home`) and the
/// vault it opens; for `palisade serve`.
pub async fn open_vault(store: &Store, home: &Path, now: DateTime<Utc>) -> Result<Vault> {
    let master = MasterKey::load(home)?;
    Ok(Vault::open(store, &master, now).await?)
}

pub fn run(global: &GlobalArgs, command: KeysCommand) -> Result<Outcome> {
    let KeysCommand::Rotate(args) = command;
    block_on(async {
        let store = open_store(global).await?;
        let result = rotate_master(&store, &args).await;
        store.close().await;
        result
    })??;
    Ok(Outcome::Clean)
}

async fn rotate_master(store: &Store, args: &RotateArgs) -> Result<()> {
    let home = palisade_store::default_home_dir();
    let now = Utc::now();
    let from_env = std::env::var(MASTER_KEY_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (old_id, new_id, data_keys) = match (from_env, &args.new_key_env) {
        (Some(current), Some(variable)) => {
            let old = MasterKey::parse(&current, MASTER_KEY_ENV)?;
            let text = std::env::var(variable)
                .with_context(|| format!("--new-key-env: variable {variable} is not set"))?;
            let new = MasterKey::parse(&text, variable.clone())?;
            if new.id() == old.id() {
                bail!("--new-key-env: {variable} holds the current key");
            }
            // Data keys are created on first use; make sure there is one to re-wrap.
            Vault::open(store, &old, now).await?;
            let count = rotate(store, &old, &new).await?;
            (old.id().to_string(), new.id().to_string(), count)
        }
        (Some(_), None) => bail!(
            "the master key comes from {MASTER_KEY_ENV}: give the new key with \
             --new-key-env VAR (64 hex characters), then set {MASTER_KEY_ENV} to it"
        ),
        (None, Some(_)) => bail!(
            "--new-key-env is for keys kept in {MASTER_KEY_ENV}; without it the key file \
             {} is rotated in place",
            home.join(MASTER_KEY_FILE).display()
        ),
        (None, None) => {
            let path = home.join(MASTER_KEY_FILE);
            let old = MasterKey::load_or_create_file(&path)?;
            Vault::open(store, &old, now).await?;
            let rotation = rotate_master_key_file(store, &path).await?;
            (rotation.old_key_id, rotation.new_key_id, rotation.data_keys)
        }
    };
    audit_cli(
        store,
        &actor(None),
        "keys.rotate",
        "master key",
        Some(format!(
            "{old_id} -> {new_id}; {data_keys} data keys re-wrapped"
        )),
        now,
    )
    .await?;
    println!("master key {old_id} replaced by {new_id}; {data_keys} data keys re-wrapped");
    if args.new_key_env.is_some() {
        println!("now set {MASTER_KEY_ENV} to the new key before the next start");
    }
    Ok(())
}
