//! `palisade assets ...`: the inventory `scan aws` keeps in the store.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use palisade_aws::Inventory;
use palisade_store::{AssetFilter, NewAsset};

use super::{block_on, open_store};
use crate::args::{AssetsCommand, DataFormat, GlobalArgs};
use crate::Outcome;

/// Stores each account's inventory as one collection of assets.
pub fn record(global: &GlobalArgs, inventories: &[Inventory]) -> Result<()> {
    let now = Utc::now();
    block_on(async {
        let store = open_store(global).await?;
        for inventory in inventories {
            let assets: Vec<NewAsset> = palisade_aws::assets::assets(inventory)
                .into_iter()
                .map(|a| NewAsset {
                    kind: a.kind,
                    id: a.id,
                    region: a.region,
                    tags: a.tags,
                    snapshot: a.snapshot,
                })
                .collect();
            let id = store
                .record_collection(
                    &inventory.account_id,
                    &inventory.regions,
                    &assets,
                    inventory.gaps.len(),
                    now,
                )
                .await
                .context("cannot record the inventory")?;
            tracing::info!(collection = id, account = %inventory.account_id, assets = assets.len(), "inventory recorded");
        }
        store.close().await;
        Ok::<_, anyhow::Error>(())
    })?
}

pub fn run(global: &GlobalArgs, command: AssetsCommand) -> Result<Outcome> {
    block_on(async {
        let store = open_store(global).await?;
        let text = match command {
            AssetsCommand::List(args) => {
                let assets = store
                    .list_assets(&AssetFilter {
                        account: args.account,
                        kind: args.kind,
                        region: args.region,
                        include_vanished: args.all,
                    })
                    .await?;
                match args.format {
                    DataFormat::Json => serde_json::to_string_pretty(&assets)? + "\n",
                    DataFormat::Table => {
                        let mut out = String::new();
                        for a in &assets {
                            writeln!(
                                out,
                                "{:<28} {:<14} {:<12} {}{}",
                                a.kind,
                                a.region,
                                a.account,
                                a.id,
                                if a.present { "" } else { "  (vanished)" }
                            )?;
                        }
                        writeln!(out, "{} assets", assets.len())?;
                        out
                    }
                }
            }
            AssetsCommand::Show(args) => {
                let assets = store.get_assets(&args.id).await?;
                if assets.is_empty() {
                    bail!("no asset `{}` (see `palisade assets list`)", args.id);
                }
                match args.format {
                    DataFormat::Json => serde_json::to_string_pretty(&assets)? + "\n",
                    DataFormat::Table => {
                        let mut out = String::new();
                        for a in &assets {
                            writeln!(out, "{}  {}", a.kind, a.id)?;
                            writeln!(out, "account {}  region {}", a.account, a.region)?;
                            writeln!(
                                out,
                                "first seen {}  last seen {}{}",
                                a.first_seen,
                                a.last_seen,
                                if a.present { "" } else { "  (vanished)" }
                            )?;
                            for (key, value) in &a.tags {
                                writeln!(out, "tag {key} = {value}")?;
                            }
                            writeln!(out, "{}", serde_json::to_string_pretty(&a.snapshot)?)?;
                        }
                        out
                    }
                }
            }
            AssetsCommand::Diff(args) => {
                let (from, to) = match (args.from, args.to) {
                    (Some(from), Some(to)) => (from, to),
                    (None, None) => {
                        let collections = store.list_collections(args.account.as_deref()).await?;
                        let accounts: std::collections::BTreeSet<&str> =
                            collections.iter().map(|c| c.account.as_str()).collect();
                        if accounts.len() > 1 {
                            bail!("collections of several accounts; name one with --account");
                        }
                        match collections.as_slice() {
                            [latest, previous, ..] => (previous.id, latest.id),
                            _ => bail!("fewer than two collections to compare; run `palisade scan aws` again"),
                        }
                    }
                    _ => bail!("give both collection ids, or none"),
                };
                let diff = store.diff_collections(from, to).await?;
                match args.format {
                    DataFormat::Json => serde_json::to_string_pretty(&diff)? + "\n",
                    DataFormat::Table => {
                        let mut out = String::new();
                        writeln!(out, "collection {from} -> {to}")?;
                        for (sign, list) in [
                            ("+", &diff.appeared),
                            ("-", &diff.vanished),
                            ("~", &diff.changed),
                        ] {
                            for c in list.iter() {
                                let fields = if c.fields.is_empty() {
                                    String::new()
                                } else {
                                    format!("  ({})", c.fields.join(", "))
                                };
                                writeln!(
                                    out,
                                    "{sign} {:<28} {:<14} {}{fields}",
                                    c.kind, c.region, c.id
                                )?;
                            }
                        }
                        writeln!(
                            out,
                            "{} appeared, {} vanished, {} changed",
                            diff.appeared.len(),
                            diff.vanished.len(),
                            diff.changed.len()
                        )?;
                        out
                    }
                }
            }
            AssetsCommand::Collections(args) => {
                let collections = store.list_collections(args.account.as_deref()).await?;
                match args.format {
                    DataFormat::Json => serde_json::to_string_pretty(&collections)? + "\n",
                    DataFormat::Table => {
                        let mut out = String::new();
                        for c in &collections {
                            writeln!(
                                out,
                                "{:>5}  {}  {}  {} assets  {} not collected  {}",
                                c.id,
                                c.collected_at.format("%Y-%m-%d %H:%M:%S"),
                                c.account,
                                c.assets,
                                c.gaps,
                                c.regions.join(",")
                            )?;
                        }
                        out
                    }
                }
            }
        };
        store.close().await;
        print!("{text}");
        Ok::<_, anyhow::Error>(Outcome::Clean)
    })?
}
