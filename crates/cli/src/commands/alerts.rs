//! `palisade alerts`: the alerts detections recorded.

use std::io::{BufWriter, Write as _};

use anyhow::Result;
use chrono::Utc;
use palisade_store::AlertFilter;

use super::{actor, block_on, open_store};
use crate::args::{AlertsCommand, DataFormat, GlobalArgs};
use crate::Outcome;

pub fn run(global: &GlobalArgs, command: AlertsCommand) -> Result<Outcome> {
    block_on(async {
        let store = open_store(global).await?;
        let mut out = BufWriter::new(std::io::stdout().lock());
        match command {
            AlertsCommand::List(args) => {
                let alerts = store
                    .list_alerts(&AlertFilter {
                        status: (!args.all).then(|| "open".to_string()),
                        min_severity: args.severity,
                        rule: args.rule,
                        limit: args.limit,
                    })
                    .await?;
                match args.format {
                    DataFormat::Json => {
                        serde_json::to_writer_pretty(&mut out, &alerts)?;
                        writeln!(out)?;
                    }
                    DataFormat::Table => {
                        let mut table = comfy_table::Table::new();
                        table.load_preset(comfy_table::presets::NOTHING);
                        table.set_header([
                            "ID", "STATUS", "SEVERITY", "RULE", "ENTITY", "COUNT", "FIRST", "LAST",
                        ]);
                        for alert in &alerts {
                            table.add_row([
                                alert.id.to_string(),
                                alert.status.clone(),
                                alert.severity.as_str().to_string(),
                                alert.rule.clone(),
                                alert.entity.clone(),
                                alert.count.to_string(),
                                alert.first_time.format("%Y-%m-%d %H:%M:%S").to_string(),
                                alert.last_time.format("%Y-%m-%d %H:%M:%S").to_string(),
                            ]);
                        }
                        writeln!(out, "{table}")?;
                        writeln!(out, "\n{} alert(s)", alerts.len())?;
                    }
                }
            }
            AlertsCommand::Ack(args) => {
                let author = actor(args.author.as_deref());
                let now = Utc::now();
                for id in args.ids {
                    let alert = store.ack_alert(id, &author, Some(&args.note), now).await?;
                    // The alert's finding leaves the open list with it.
                    let fingerprint = super::detect::finding_fingerprint(&alert);
                    match store
                        .suppress(
                            &fingerprint,
                            &format!("alert acknowledged: {}", args.note),
                            &author,
                            None,
                            now,
                        )
                        .await
                    {
                        Ok(_) => {}
                        Err(palisade_store::Error::NotFound(_)) => {}
                        Err(error) => return Err(error.into()),
                    }
                    writeln!(
                        out,
                        "alert {id} acknowledged ({} on {})",
                        alert.rule, alert.entity
                    )?;
                }
            }
            AlertsCommand::DeadLetters(args) => {
                let dead = store.dead_letters().await?;
                match args.format {
                    DataFormat::Json => {
                        serde_json::to_writer_pretty(&mut out, &dead)?;
                        writeln!(out)?;
                    }
                    DataFormat::Table => {
                        let mut table = comfy_table::Table::new();
                        table.load_preset(comfy_table::presets::NOTHING);
                        table.set_header([
                            "ID", "ALERT", "TARGET", "KIND", "ATTEMPTS", "ERROR", "AT",
                        ]);
                        for delivery in &dead {
                            table.add_row([
                                delivery.id.to_string(),
                                delivery.alert_id.to_string(),
                                delivery.target.clone(),
                                delivery.kind.clone(),
                                delivery.attempts.to_string(),
                                delivery.last_error.clone().unwrap_or_default(),
                                delivery.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            ]);
                        }
                        writeln!(out, "{table}")?;
                        writeln!(out, "\n{} undelivered", dead.len())?;
                    }
                }
            }
        }
        out.flush()?;
        store.close().await;
        Ok::<_, anyhow::Error>(Outcome::Clean)
    })?
}
