//! `palisade vulndb ...`: build and inspect the local advisory database.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use palisade_deps::exploitation;
use palisade_deps::osv::{read_records, RawRecord, ReadLimits};
use palisade_store::{AdvisoryRow, ImportCounts, Store};

use super::{block_on, download, open_store};
use crate::args::{GlobalArgs, StatusFormat, VulndbCommand, VulndbFileArgs};
use crate::Outcome;

/// `println!` that returns broken-pipe and other write errors instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// Records written per transaction during an import.
const IMPORT_BATCH: usize = 5_000;
/// Largest KEV or EPSS file read.
const MAX_FEED_BYTES: u64 = 512 * 1024 * 1024;
/// Largest OSV export downloaded (osv.dev's all-ecosystem `all.zip` is about 1 GB).
const MAX_EXPORT_DOWNLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;

pub fn run(global: &GlobalArgs, command: VulndbCommand) -> Result<Outcome> {
    match command {
        VulndbCommand::Import(args) => {
            // What is stored, by id: read once, kept current across sources.
            let mut known = None;
            for source in &args.sources {
                import(global, source, &mut known)?;
            }
        }
        VulndbCommand::ImportKev(args) => import_kev(global, &args)?,
        VulndbCommand::ImportEpss(args) => import_epss(global, &args)?,
        VulndbCommand::Status(args) => status(global, args.format)?,
    }
    Ok(Outcome::Clean)
}

#[derive(Default)]
struct EcosystemCounts {
    read: u64,
    added: u64,
    updated: u64,
    unchanged: u64,
}

fn import(
    global: &GlobalArgs,
    source: &Path,
    known: &mut Option<HashMap<String, String>>,
) -> Result<()> {
    let text = source.to_string_lossy();
    if download::is_url(&text) {
        let file = download::download(&text, MAX_EXPORT_DOWNLOAD_BYTES)?;
        return import_from(global, file.path(), &download::shown_url(&text), known);
    }
    import_from(global, source, &source.display().to_string(), known)
}

/// Imports the export at `source`, recorded and reported as `shown`.
fn import_from(
    global: &GlobalArgs,
    source: &Path,
    shown: &str,
    known: &mut Option<HashMap<String, String>>,
) -> Result<()> {
    let shown = shown.to_string();
    if !source.exists() {
        bail!("{shown}: no such file or directory");
    }
    let started = std::time::Instant::now();
    // The reader runs on its own thread and hands records over a bounded
    // channel, so a large export is never held in memory at once.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<RawRecord>(IMPORT_BATCH);
    let reader_source = source.to_path_buf();
    let reader = std::thread::spawn(move || {
        read_records(&reader_source, &ReadLimits::default(), &mut |record| {
            let _ = sender.send(record);
        })
    });
    let (counts, per_ecosystem) = block_on(async {
        let store = open_store(global).await?;
        if known.is_none() {
            *known = Some(store.advisory_versions().await?);
        }
        let known = known.get_or_insert_with(HashMap::new);
        let mut counts = ImportCounts::default();
        let mut per_ecosystem: BTreeMap<String, EcosystemCounts> = BTreeMap::new();
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let now = Utc::now();
        for raw in receiver {
            counts.read += 1;
            let packages = raw.record.compact_packages();
            let previous = known.get(&raw.record.id);
            let outcome = match previous {
                Some(modified) if *modified == raw.record.modified => 0,
                Some(_) => 1,
                None => 2,
            };
            let mut ecosystems: Vec<&str> = packages.iter().map(|(e, _, _)| e.as_str()).collect();
            ecosystems.dedup();
            for ecosystem in ecosystems {
                let entry = per_ecosystem.entry(ecosystem.to_string()).or_default();
                entry.read += 1;
                match outcome {
                    0 => entry.unchanged += 1,
                    1 => entry.updated += 1,
                    _ => entry.added += 1,
                }
            }
            match outcome {
                0 => {
                    counts.unchanged += 1;
                    continue;
                }
                1 => counts.updated += 1,
                _ => counts.added += 1,
            }
            known.insert(raw.record.id.clone(), raw.record.modified.clone());
            batch.push(AdvisoryRow {
                id: raw.record.id.clone(),
                modified: raw.record.modified.clone(),
                withdrawn: raw.record.is_withdrawn(),
                json: raw.json,
                packages,
            });
            if batch.len() >= IMPORT_BATCH {
                store.upsert_advisories(&batch, now).await?;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            store.upsert_advisories(&batch, now).await?;
        }
        store.record_advisory_import(&shown, counts, now).await?;
        store.close().await;
        Ok::<_, anyhow::Error>((counts, per_ecosystem))
    })??;
    let problems = match reader.join() {
        Ok(result) => result.with_context(|| format!("cannot import {shown}"))?,
        Err(_) => bail!("{shown}: the reader stopped unexpectedly"),
    };
    for problem in problems.iter().take(20) {
        tracing::warn!(entry = %problem.entry, "{}", problem.message);
    }
    if problems.len() > 20 {
        tracing::warn!(
            more = problems.len() - 20,
            "further unreadable records not listed"
        );
    }
    outln!(
        "imported {shown}: {} records read, {} new, {} updated, {} unchanged, {} unreadable ({:.1} s)",
        counts.read,
        counts.added,
        counts.updated,
        counts.unchanged,
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    for (ecosystem, c) in &per_ecosystem {
        outln!(
            "  {ecosystem:<24} {:>8} read {:>8} new {:>8} updated {:>8} unchanged",
            c.read,
            c.added,
            c.updated,
            c.unchanged
        );
    }
    Ok(())
}

/// A KEV or EPSS feed's text and how to name it: a file, or an http(s) URL
/// downloaded first; gzip (as EPSS publishes it) is decompressed.
fn read_feed(file: &Path) -> Result<(String, String)> {
    let text = file.to_string_lossy();
    let (shown, downloaded) = if download::is_url(&text) {
        (
            download::shown_url(&text),
            Some(download::download(&text, MAX_FEED_BYTES)?),
        )
    } else {
        (file.display().to_string(), None)
    };
    let path = downloaded.as_ref().map_or(file, |d| d.path());
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {shown}"))?
        .len();
    if size > MAX_FEED_BYTES {
        bail!("{shown}: larger than the {MAX_FEED_BYTES}-byte limit");
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;
    let content = exploitation::feed_text(&shown, bytes, MAX_FEED_BYTES)?;
    Ok((shown, content))
}

fn import_kev(global: &GlobalArgs, args: &VulndbFileArgs) -> Result<()> {
    let (shown, content) = read_feed(&args.file)?;
    let entries = exploitation::parse_kev(&shown, &content)?;
    with_store(global, |store| async move {
        store.replace_known_exploited(&entries).await?;
        outln!(
            "imported {shown}: {} known exploited vulnerabilities",
            entries.len()
        );
        Ok(())
    })
}

fn import_epss(global: &GlobalArgs, args: &VulndbFileArgs) -> Result<()> {
    let (shown, content) = read_feed(&args.file)?;
    let scores = exploitation::parse_epss(&shown, &content)?;
    with_store(global, |store| async move {
        store.replace_epss(&scores).await?;
        outln!("imported {shown}: {} EPSS scores", scores.len());
        Ok(())
    })
}

fn with_store<F, Fut>(global: &GlobalArgs, f: F) -> Result<()>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    block_on(async {
        let store = open_store(global).await?;
        let result = f(store.clone()).await;
        store.close().await;
        result
    })?
}

fn status(global: &GlobalArgs, format: StatusFormat) -> Result<()> {
    let status = block_on(async {
        let store = open_store(global).await?;
        let status = store.advisory_status().await?;
        store.close().await;
        Ok::<_, anyhow::Error>(status)
    })??;
    match format {
        StatusFormat::Json => {
            let per: HashMap<&String, &u64> = status.per_ecosystem.iter().collect();
            let json = serde_json::json!({
                "records": status.records,
                "withdrawn": status.withdrawn,
                "per_ecosystem": per,
                "last_import": status.last_import,
                "newest_record": status.newest_record,
                "known_exploited": status.known_exploited,
                "epss_scores": status.epss_scores,
            });
            outln!("{}", serde_json::to_string_pretty(&json)?);
        }
        StatusFormat::Table => {
            outln!(
                "records: {} ({} withdrawn)",
                status.records,
                status.withdrawn
            );
            outln!(
                "last import: {}",
                status
                    .last_import
                    .map_or("never".to_string(), |t| t.to_rfc3339())
            );
            let age = status
                .newest_record
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| (Utc::now() - t.with_timezone(&Utc)).num_days());
            outln!(
                "newest record: {}{}",
                status.newest_record.as_deref().unwrap_or("-"),
                match age {
                    Some(days) if days > super::scan_deps::STALE_AFTER_DAYS =>
                        format!(" ({days} days old: stale, import a fresh export)"),
                    Some(days) => format!(" ({days} days old)"),
                    None => String::new(),
                }
            );
            outln!(
                "known exploited (KEV): {}, EPSS scores: {}",
                status.known_exploited,
                status.epss_scores
            );
            for (ecosystem, count) in &status.per_ecosystem {
                outln!("  {ecosystem:<24} {count:>8}");
            }
        }
    }
    Ok(())
}
