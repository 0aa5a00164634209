//! `palisade logs`: ingest log files into the lake, query it.
//!
//! The lake engine parses and writes; the store keeps the manifest of
//! ingested objects. Ingest checks the manifest before adding a file and
//! records the batch's files once its Parquet files are in place.

use std::collections::HashSet;
use std::io::{BufWriter, Write as _};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use palisade_lake::{
    discover, InputObject, Lake, ObjectOutcome, ParseOptions, QueryResult, Source, TailFilter,
};
use palisade_store::{ExpiredLakePartition, NewLakeObject};
use serde::Serialize;

use super::{block_on, logs_s3, open_store};
use crate::args::{
    GlobalArgs, LakeArgs, LogsCommand, LogsCompactArgs, LogsIngestArgs, LogsRetentionArgs,
    LogsTailArgs, QueryOutputFormat, SummaryFormat,
};
use crate::Outcome;

pub fn run(global: &GlobalArgs, command: LogsCommand) -> Result<Outcome> {
    match command {
        LogsCommand::Ingest(args) => ingest(global, args),
        LogsCommand::Query(args) => {
            let lake = lake(&args.lake)?;
            let result = query(&lake, &args.sql)?;
            print(&result, args.format)
        }
        LogsCommand::Tail(args) => tail(args),
        LogsCommand::Compact(args) => compact(global, args),
        LogsCommand::Retention(args) => retention(global, args),
    }
}

fn compact(global: &GlobalArgs, args: LogsCompactArgs) -> Result<Outcome> {
    let lake = lake(&args.lake)?;
    let sources: Vec<Source> = match args.source {
        Some(source) => vec![source.into()],
        None => Source::ALL.to_vec(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let compacted = runtime.block_on(async {
        let store = open_store(global).await?;
        let mut compacted = Vec::new();
        for source in sources {
            let recorded: HashSet<String> = store
                .lake_objects(source.name())
                .await?
                .into_iter()
                .map(|object| object.batch)
                .collect();
            compacted.extend(lake.compact(source, &recorded).await?);
        }
        store.close().await;
        Ok::<_, anyhow::Error>(compacted)
    })?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &compacted)?;
            writeln!(out)?;
        }
        SummaryFormat::Text if compacted.is_empty() => {
            writeln!(
                out,
                "nothing to compact: no partition has two or more small part files"
            )?;
        }
        SummaryFormat::Text => {
            for partition in &compacted {
                writeln!(
                    out,
                    "{} dt={}: {} part files merged into {} ({} rows)",
                    partition.source,
                    partition.day,
                    partition.inputs.len(),
                    partition.output.display(),
                    partition.rows
                )?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

fn retention(global: &GlobalArgs, args: LogsRetentionArgs) -> Result<Outcome> {
    let lake = lake(&args.lake)?;
    let source: Source = args.source.into();
    let now = Utc::now();
    let expired = if args.dry_run {
        lake.expiring(source, args.days, now)?
    } else {
        let expired = lake.expire(source, args.days, now)?;
        let records: Vec<ExpiredLakePartition> = expired
            .iter()
            .map(|partition| ExpiredLakePartition {
                source: partition.source.clone(),
                day: partition.day.clone(),
                files: partition.files,
                bytes: partition.bytes,
                retention_days: args.days,
                deleted_at: now,
            })
            .collect();
        block_on(async {
            let store = open_store(global).await?;
            store.record_expired_lake_partitions(&records).await?;
            // Deleting logs is a security-relevant act: the hash-chained audit
            // log records each partition, next to the manifest's own record.
            let os_user = super::actor(None);
            for partition in &records {
                let event = palisade_store::NewAuditEvent {
                    actor: format!("cli:{os_user}"),
                    source_ip: None,
                    action: "lake.retention".to_string(),
                    target: Some(format!("source={}/dt={}", partition.source, partition.day)),
                    detail: Some(format!(
                        "{} files, {} bytes, retention {} days",
                        partition.files, partition.bytes, partition.retention_days
                    )),
                };
                store.append_audit(&event, now).await?;
            }
            store.close().await;
            Ok::<_, anyhow::Error>(())
        })??;
        for partition in &expired {
            tracing::info!(source = %partition.source, day = %partition.day, files = partition.files, "partition expired and deleted");
        }
        expired
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &expired)?;
            writeln!(out)?;
        }
        SummaryFormat::Text => {
            let verb = if args.dry_run {
                "would delete"
            } else {
                "deleted"
            };
            if expired.is_empty() {
                writeln!(
                    out,
                    "nothing to delete: no {} partition is older than {} days",
                    source.name(),
                    args.days
                )?;
            }
            for partition in &expired {
                writeln!(
                    out,
                    "{verb} {} dt={} ({} files, {} bytes)",
                    partition.source, partition.day, partition.files, partition.bytes
                )?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

/// The lake of `--lake`: a directory or `s3://bucket/prefix`.
pub fn lake(args: &LakeArgs) -> Result<Lake> {
    let location = args
        .lake
        .clone()
        .unwrap_or_else(|| palisade_store::default_home_dir().join(palisade_lake::LAKE_DIR_NAME));
    match location.to_str() {
        Some(url) if url.starts_with("s3://") => Ok(Lake::open(url)?),
        _ => Ok(Lake::new(location)),
    }
}

/// What `logs ingest` prints.
#[derive(Debug, Default, Serialize)]
struct IngestReport {
    source: String,
    lake: PathBuf,
    files_found: u64,
    files_ingested: u64,
    /// In the manifest already (ingested by an earlier run).
    files_already_ingested: u64,
    /// The same content twice in this run, under two paths.
    files_duplicated: u64,
    /// Could not be read; not recorded, so the next run tries again.
    files_unreadable: u64,
    records: u64,
    quarantined: u64,
    batch: Option<String>,
    parquet_files: Vec<PathBuf>,
    quarantine_file: Option<PathBuf>,
    /// With `--detect`: the detections run over the files written.
    #[serde(skip_serializing_if = "Option::is_none")]
    detection: Option<super::detect::DetectReport>,
}

fn ingest(global: &GlobalArgs, args: LogsIngestArgs) -> Result<Outcome> {
    let source: Source = args.source.into();
    let lake = lake(&args.lake)?;
    let mut options = ParseOptions::default();
    for field in &args.fields {
        options
            .json
            .set(field)
            .map_err(|reason| anyhow::anyhow!("--field {reason}"))?;
    }
    if let Some(reference) = &args.syslog_year_reference {
        let time = chrono::DateTime::parse_from_rfc3339(reference).with_context(|| {
            format!("--syslog-year-reference `{reference}` is not an RFC 3339 time")
        })?;
        options.syslog_reference = Some(time.with_timezone(&Utc));
    }
    logs_s3::check_one_kind(&args.paths)?;
    // Load the rules first: a bad rule path should stop the run before it ingests.
    let rules = if args.detect {
        Some(super::detect::load_rules(
            &args.detection.rules,
            args.detection.no_builtin,
            args.detection.mapping.as_deref(),
        )?)
    } else {
        None
    };
    let mut paths = Vec::new();
    let mut s3_objects: Vec<(String, String)> = Vec::new();
    let mut s3_reader = None;
    for path in &args.paths {
        match logs_s3::parse_url(&path.to_string_lossy()) {
            Some(url) => {
                let (bucket, prefix) = url?;
                let reader = match &s3_reader {
                    Some(reader) => reader,
                    None => s3_reader.insert(logs_s3::S3Reader::new()?),
                };
                for key in reader.list(source, &bucket, &prefix)? {
                    s3_objects.push((bucket.clone(), key));
                }
            }
            None => paths.extend(discover(source, path)?),
        }
    }
    let report = block_on(async {
        let store = open_store(global).await?;
        let mut report = IngestReport {
            source: source.name().to_string(),
            lake: lake.root().to_path_buf(),
            files_found: (paths.len() + s3_objects.len()) as u64,
            ..IngestReport::default()
        };
        let known: HashSet<String> = store
            .lake_objects(source.name())
            .await?
            .into_iter()
            .map(|object| object.sha256)
            .collect();
        let mut batch = lake.begin_with(source, options);
        let reports = match &s3_reader {
            Some(reader) => {
                let items = s3_objects
                    .iter()
                    .map(|(bucket, key)| (format!("s3://{bucket}/{key}"), (bucket, key)))
                    .collect();
                batch.add_parallel(
                    items,
                    |(bucket, key): (&String, &String)| reader.read(bucket, key),
                    &known,
                )?
            }
            None => {
                let items = paths
                    .iter()
                    .map(|path| (path.display().to_string(), path.clone()))
                    .collect();
                batch.add_parallel(items, |path: PathBuf| InputObject::read(&path), &known)?
            }
        };
        for object in reports {
            match object.outcome {
                ObjectOutcome::Ingested(ingested) if ingested.quarantined > 0 => {
                    tracing::warn!(
                        path = %object.label,
                        records = ingested.records,
                        quarantined = ingested.quarantined,
                        "bad input quarantined"
                    );
                }
                ObjectOutcome::Ingested(_) => {}
                ObjectOutcome::AlreadyIngested { .. } => {
                    tracing::info!(path = %object.label, "already ingested, skipped");
                    report.files_already_ingested += 1;
                }
                ObjectOutcome::DuplicateInBatch => report.files_duplicated += 1,
                ObjectOutcome::Unreadable(error) => {
                    tracing::warn!("{error}");
                    report.files_unreadable += 1;
                }
            }
        }
        let summary = batch.commit()?;
        if let Some(batch_id) = &summary.batch {
            let objects: Vec<NewLakeObject> = summary
                .objects
                .iter()
                .map(|o| NewLakeObject {
                    key: o.key.clone(),
                    size: o.size,
                    sha256: o.sha256.clone(),
                    records: o.records,
                    quarantined: o.quarantined,
                })
                .collect();
            store
                .record_lake_objects(source.name(), batch_id, &objects, Utc::now())
                .await?;
        }
        store.close().await;
        report.files_ingested = summary.objects.len() as u64;
        report.records = summary.records;
        report.quarantined = summary.quarantined;
        report.batch = summary.batch;
        report.parquet_files = summary.files;
        report.quarantine_file = summary.quarantine_file;
        Ok::<_, anyhow::Error>(report)
    })??;
    let mut report = report;
    if let Some(rules) = &rules {
        // Local copies when the lake is on object storage.
        let local = lake.local_files(&report.parquet_files)?;
        let files: Vec<(Source, PathBuf)> = local
            .files
            .iter()
            .map(|path| (source, path.clone()))
            .collect();
        report.detection = Some(super::detect::detect_files(
            global,
            &lake,
            rules,
            &files,
            None,
            &args.detection,
            true,
        )?);
    }

    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        SummaryFormat::Text => write_report(&mut out, &report)?,
    }
    out.flush()?;
    if report.files_unreadable > 0 {
        bail!(
            "{} file(s) could not be read (see the warnings above); they were not recorded \
             and the next run will try them again",
            report.files_unreadable
        );
    }
    Ok(Outcome::Clean)
}

fn write_report(out: &mut impl std::io::Write, report: &IngestReport) -> Result<()> {
    if report.files_ingested == 0 && report.files_already_ingested > 0 {
        writeln!(
            out,
            "nothing new: all {} {} file(s) were ingested before",
            report.files_already_ingested, report.source
        )?;
    }
    writeln!(out, "source             {}", report.source)?;
    writeln!(out, "lake               {}", report.lake.display())?;
    writeln!(out, "files found        {}", report.files_found)?;
    writeln!(out, "files ingested     {}", report.files_ingested)?;
    writeln!(
        out,
        "already ingested   {} (skipped)",
        report.files_already_ingested
    )?;
    if report.files_duplicated > 0 {
        writeln!(
            out,
            "duplicates         {} (same content as another file of this run)",
            report.files_duplicated
        )?;
    }
    if report.files_unreadable > 0 {
        writeln!(out, "unreadable         {}", report.files_unreadable)?;
    }
    writeln!(out, "records written    {}", report.records)?;
    match &report.quarantine_file {
        Some(path) => writeln!(
            out,
            "quarantined        {} (see {})",
            report.quarantined,
            path.display()
        )?,
        None => writeln!(out, "quarantined        {}", report.quarantined)?,
    }
    writeln!(out, "parquet files      {}", report.parquet_files.len())?;
    if let Some(detection) = &report.detection {
        writeln!(out, "detection:")?;
        super::detect::write_report(out, detection)?;
    }
    Ok(())
}

/// DataFusion runs its plans on tokio tasks: give it both cores.
fn query(lake: &Lake, sql: &str) -> Result<QueryResult> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(lake.query(sql))?)
}

fn print(result: &QueryResult, format: QueryOutputFormat) -> Result<Outcome> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    result.write(format.into(), &mut out)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

fn tail(args: LogsTailArgs) -> Result<Outcome> {
    let since = args
        .since
        .as_deref()
        .map(|since| palisade_lake::parse_since(since, Utc::now()))
        .transpose()?;
    let filter = TailFilter {
        source: args.source.into(),
        actor: args.actor,
        action: args.action,
        since,
        limit: args.limit,
    };
    let sql = filter.to_sql();
    tracing::debug!(%sql, "tail query");
    let result = query(&lake(&args.lake)?, &sql)?;
    print(&result, args.format)
}
