//! `palisade logs`: ingest log files into the lake, query it.
//!
//! The lake engine parses and writes; the store keeps the manifest of
//! ingested objects. Ingest checks the manifest before adding a file and
//! records the batch's files once its Parquet files are in place.

use std::io::{BufWriter, Write as _};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use palisade_lake::{discover, Added, InputObject, Lake, QueryResult, Source, TailFilter};
use palisade_store::NewLakeObject;
use serde::Serialize;

use super::{block_on, open_store};
use crate::args::{
    GlobalArgs, LakeArgs, LogsCommand, LogsIngestArgs, LogsTailArgs, QueryOutputFormat,
    SummaryFormat,
};
use crate::Outcome;

pub fn run(global: &GlobalArgs, command: LogsCommand) -> Result<Outcome> {
    match command {
        LogsCommand::Ingest(args) => ingest(global, args),
        LogsCommand::Query(args) => {
            let lake = lake(&args.lake);
            let result = query(&lake, &args.sql)?;
            print(&result, args.format)
        }
        LogsCommand::Tail(args) => tail(args),
    }
}

fn lake(args: &LakeArgs) -> Lake {
    Lake::new(
        args.lake.clone().unwrap_or_else(|| {
            palisade_store::default_home_dir().join(palisade_lake::LAKE_DIR_NAME)
        }),
    )
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
    let lake = lake(&args.lake);
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
    for path in &args.paths {
        paths.extend(discover(source, path)?);
    }
    let report = block_on(async {
        let store = open_store(global).await?;
        let mut report = IngestReport {
            source: source.name().to_string(),
            lake: lake.root().to_path_buf(),
            files_found: paths.len() as u64,
            ..IngestReport::default()
        };
        let mut batch = lake.begin(source);
        for path in &paths {
            let object = match InputObject::read(path) {
                Ok(object) => object,
                Err(error) => {
                    tracing::warn!("{error}");
                    report.files_unreadable += 1;
                    continue;
                }
            };
            if let Some(known) = store.lake_object(source.name(), &object.sha256).await? {
                tracing::info!(
                    path = %path.display(),
                    ingested_at = %known.ingested_at,
                    "already ingested, skipped"
                );
                report.files_already_ingested += 1;
                continue;
            }
            match batch.add(&object)? {
                Added::Ingested(ingested) => {
                    if ingested.quarantined > 0 {
                        tracing::warn!(
                            path = %path.display(),
                            records = ingested.records,
                            quarantined = ingested.quarantined,
                            "bad input quarantined"
                        );
                    }
                }
                Added::DuplicateInBatch => report.files_duplicated += 1,
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
        let files: Vec<(Source, PathBuf)> = report
            .parquet_files
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
    let result = query(&lake(&args.lake), &sql)?;
    print(&result, args.format)
}
