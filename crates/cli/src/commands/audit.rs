//! `palisade audit ...`: the hash-chained audit log.

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use palisade_store::AuditFilter;

use super::{block_on, open_store};
use crate::args::GlobalArgs;
use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole chain; fails (exit 2), naming the first bad record, if
    /// any record was edited, removed or reordered. Prints the head hash:
    /// keep it elsewhere to detect records cut off the end later.
    Verify,
    /// The latest records, newest first.
    List(AuditListArgs),
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Only records whose action starts with this (`login.`).
    #[arg(long)]
    pub action: Option<String>,
    #[arg(long, short = 'f', value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
}

pub fn run(global: &GlobalArgs, command: AuditCommand) -> Result<Outcome> {
    block_on(async {
        let store = open_store(global).await?;
        let result: Result<()> = match command {
            AuditCommand::Verify => store
                .verify_audit_log()
                .await
                .map(|verified| {
                    println!(
                        "audit log intact: {} records, head {}",
                        verified.records, verified.head
                    );
                })
                .map_err(Into::into),
            AuditCommand::List(args) => {
                let filter = AuditFilter {
                    action_prefix: args.action,
                    limit: args.limit,
                    ..AuditFilter::default()
                };
                store
                    .list_audit(&filter)
                    .await
                    .map(|records| match args.format {
                        AuditFormat::Json => {
                            for record in records {
                                println!("{}", serde_json::to_string(&record).unwrap_or_default());
                            }
                        }
                        AuditFormat::Table => {
                            for r in records {
                                println!(
                                    "{:>6} {} {:<16} {:<20} {} {}",
                                    r.id,
                                    r.at.format("%Y-%m-%d %H:%M:%S"),
                                    r.actor,
                                    r.action,
                                    r.target.as_deref().unwrap_or("-"),
                                    r.detail.as_deref().unwrap_or("")
                                );
                            }
                        }
                    })
                    .map_err(Into::into)
            }
        };
        store.close().await;
        result
    })??;
    Ok(Outcome::Clean)
}
