//! One module per noun of the command line.

pub mod alerts;
pub mod assets;
pub mod audit;
pub mod demo;
pub mod detect;
mod download;
pub mod findings;
pub mod hook;
pub mod keys;
pub mod logs;
mod logs_s3;
mod proxy;
pub mod rules;
pub mod scan;
mod scan_aws;
pub mod scan_deps;
mod scan_secrets;
pub mod serve;
pub mod sso;
pub mod tokens;
pub mod upload;
pub mod users;
pub mod vulndb;

use anyhow::{Context, Result};
use palisade_store::Store;

use crate::args::GlobalArgs;

/// A single-threaded runtime for the store's async API: the CLI does one
/// thing at a time, and scanning runs on rayon, not tokio.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// Opens the store named by `--database-url`, or the default database.
pub async fn open_store(global: &GlobalArgs) -> Result<Store> {
    let url = match &global.database_url {
        Some(url) => url.clone(),
        None => palisade_store::default_database_path()
            .to_string_lossy()
            .into_owned(),
    };
    Store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

/// Who is acting, for suppressions: `--author`, else $USER.
pub fn actor(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}
