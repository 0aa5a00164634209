//! Keeping the lake in shape: compaction of small part files and
//! retention of old partitions.
//!
//! Compaction merges the part files of one `dt` partition into one file
//! sorted by time (fewer files to list and open, row groups whose time
//! ranges do not overlap, so time filters skip more). It is:
//!
//! - safe against lost data: only parts of batches recorded in the manifest
//!   are merged (a batch written but not yet recorded may be rewritten by a
//!   re-run of its ingest, under the same name);
//! - crash-safe: a journal (`.compaction-<id>.json`, invisible to readers,
//!   which list `*.parquet`) names the inputs before the merged file is
//!   renamed into place; a later run finishes or rolls back what a crash
//!   interrupted, so rows are never counted twice for longer than the
//!   unlinking of the inputs takes;
//! - idempotent: a partition with one part is left alone, and the merged
//!   file's name is derived from its inputs.
//!
//! Retention deletes whole `dt` partitions older than a number of days.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use datafusion::execution::context::SessionContext;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{col, ParquetReadOptions};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ingest::{partition_relative, writer_properties, IN_PROGRESS_SUFFIX};
use crate::remote::{wait, Remote};
use crate::schema::{Source, DAY_PARTITION};
use crate::Lake;

/// Parts at least this big are left as they are.
pub const COMPACTED_PART_BYTES: u64 = 256 << 20;

/// What compacting one partition did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compacted {
    pub source: String,
    pub day: String,
    /// The part files merged (now deleted).
    pub inputs: Vec<PathBuf>,
    /// The merged part file.
    pub output: PathBuf,
    pub rows: u64,
}

/// A partition deleted by retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expired {
    pub source: String,
    pub day: String,
    pub files: u64,
    pub bytes: u64,
}

/// The journal of one compaction, written before its output is renamed into place.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    output: String,
    inputs: Vec<String>,
}

const JOURNAL_PREFIX: &str = ".compaction-";

impl Lake {
    /// The `dt` partitions of `source` that exist, oldest first.
    pub fn days(&self, source: Source) -> Result<Vec<String>> {
        if let Some(remote) = &self.remote {
            return wait(remote_days(remote, source));
        }
        let dir = self.source_dir(source);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Read { path: dir, source }),
        };
        let mut days = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            if let Some(day) = name
                .to_str()
                .and_then(|n| n.strip_prefix(DAY_PARTITION))
                .and_then(|n| n.strip_prefix('='))
            {
                if NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok() && entry.path().is_dir() {
                    days.push(day.to_string());
                }
            }
        }
        days.sort();
        Ok(days)
    }

    /// The part files of one partition, sorted by name (for a lake on
    /// object storage, their URLs).
    pub fn parts(&self, source: Source, day: &str) -> Result<Vec<PathBuf>> {
        Ok(self
            .part_sizes(source, day)?
            .into_iter()
            .map(|(path, _)| path)
            .collect())
    }

    /// The part files of one partition with their sizes, sorted by name.
    fn part_sizes(&self, source: Source, day: &str) -> Result<Vec<(PathBuf, u64)>> {
        if let Some(remote) = &self.remote {
            let relative = partition_relative(source, day);
            let (_, objects) = wait(remote.children(&relative))?;
            let mut parts: Vec<(PathBuf, u64)> = objects
                .into_iter()
                .filter(|o| {
                    o.location
                        .filename()
                        .is_some_and(|n| n.starts_with("part-") && n.ends_with(".parquet"))
                })
                .map(|o| {
                    let name = o.location.filename().unwrap_or_default();
                    (
                        PathBuf::from(remote.url_of(&format!("{relative}/{name}"))),
                        o.size,
                    )
                })
                .collect();
            parts.sort();
            return Ok(parts);
        }
        let dir = self.partition_dir(source, day);
        let mut parts = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })? {
            let path = entry
                .map_err(|source| Error::Read {
                    path: dir.clone(),
                    source,
                })?
                .path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with("part-") && name.ends_with(".parquet") {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                parts.push((path, size));
            }
        }
        parts.sort();
        Ok(parts)
    }

    /// Merges the small part files of every partition of `source` whose
    /// batches are all in `recorded_batches` (the manifest's batch ids;
    /// merged parts are always eligible). Returns what was merged.
    pub async fn compact(
        &self,
        source: Source,
        recorded_batches: &HashSet<String>,
    ) -> Result<Vec<Compacted>> {
        let mut done = Vec::new();
        for day in self.days(source)? {
            self.recover_compaction(source, &day)?;
            let candidates: Vec<PathBuf> = self
                .part_sizes(source, &day)?
                .into_iter()
                .filter(|(path, size)| {
                    let name = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    let batch = name
                        .strip_prefix("part-")
                        .and_then(|n| n.strip_suffix(".parquet"))
                        .unwrap_or_default();
                    let small = *size < COMPACTED_PART_BYTES;
                    small && (batch.starts_with('c') || recorded_batches.contains(batch))
                })
                .map(|(path, _)| path)
                .collect();
            if candidates.len() < 2 {
                continue;
            }
            done.push(self.merge(source, &day, candidates).await?);
        }
        Ok(done)
    }

    async fn merge(&self, source: Source, day: &str, inputs: Vec<PathBuf>) -> Result<Compacted> {
        let dir = self.partition_dir(source, day);
        let names: Vec<String> = inputs
            .iter()
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .collect();
        let mut hasher = Sha256::new();
        for name in &names {
            hasher.update(name.as_bytes());
            hasher.update(b"\n");
        }
        let id = hex::encode(hasher.finalize())[..16].to_string();
        let output = dir.join(format!("part-c{id}.parquet"));
        let spool = self.remote.as_ref().map(|_| crate::remote::spool_dir());
        let in_progress = match &spool {
            Some(spool) => {
                std::fs::create_dir_all(spool).map_err(|source| Error::Write {
                    path: spool.clone(),
                    source,
                })?;
                spool.join(format!("part-c{id}.parquet"))
            }
            None => dir.join(format!(".part-c{id}.parquet{IN_PROGRESS_SUFFIX}")),
        };
        let result = self
            .merge_into(source, day, &inputs, names, &id, &in_progress)
            .await;
        if let Some(spool) = spool {
            let _ = std::fs::remove_dir_all(spool);
        }
        let rows = result?;
        Ok(Compacted {
            source: source.name().to_string(),
            day: day.to_string(),
            inputs,
            output,
            rows,
        })
    }

    /// Writes the merged file to `in_progress`, then publishes it: the
    /// journal, the merged part in place, the inputs deleted.
    async fn merge_into(
        &self,
        source: Source,
        day: &str,
        inputs: &[PathBuf],
        names: Vec<String>,
        id: &str,
        in_progress: &Path,
    ) -> Result<u64> {
        let dir = self.partition_dir(source, day);
        let output = dir.join(format!("part-c{id}.parquet"));
        let ctx = SessionContext::new();
        self.register_store(&ctx)?;
        let schema = source.file_schema();
        let paths: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        let options = ParquetReadOptions {
            schema: Some(&schema),
            ..ParquetReadOptions::default()
        };
        let frame = ctx
            .read_parquet(paths, options)
            .await?
            .sort(vec![col("time").sort(true, false)])?;
        let mut stream = frame.execute_stream().await?;
        let write_error = |source| Error::Write {
            path: in_progress.to_path_buf(),
            source,
        };
        let parquet_error = |source| Error::Parquet {
            path: in_progress.to_path_buf(),
            source,
        };
        let file = File::create(in_progress).map_err(write_error)?;
        let mut writer =
            ArrowWriter::try_new(BufWriter::new(file), schema, Some(writer_properties()))
                .map_err(parquet_error)?;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            writer.write(&batch).map_err(parquet_error)?;
        }
        writer.close().map_err(parquet_error)?;

        let journal_name = format!("{JOURNAL_PREFIX}{id}.json");
        let journal = Journal {
            output: format!("part-c{id}.parquet"),
            inputs: names,
        };
        let text =
            serde_json::to_vec(&journal).map_err(|e| write_error(std::io::Error::other(e)))?;
        if let Some(remote) = &self.remote {
            let relative = partition_relative(source, day);
            remote
                .put(&format!("{relative}/{journal_name}"), text)
                .await?;
            remote
                .upload(in_progress, &format!("{relative}/{}", journal.output))
                .await?;
            remote_finish(remote, &relative, &journal, &journal_name).await?;
            return Ok(rows);
        }
        let journal_path = dir.join(journal_name);
        std::fs::write(&journal_path, text).map_err(|source| Error::Write {
            path: journal_path.clone(),
            source,
        })?;
        std::fs::rename(in_progress, &output).map_err(|source| Error::Write {
            path: output.clone(),
            source,
        })?;
        finish(&dir, &journal, &journal_path)?;
        Ok(rows)
    }

    /// Finishes (output in place) or rolls back (output missing) a
    /// compaction a crash interrupted.
    fn recover_compaction(&self, source: Source, day: &str) -> Result<()> {
        if let Some(remote) = &self.remote {
            return wait(remote_recover(remote, &partition_relative(source, day)));
        }
        let dir = self.partition_dir(source, day);
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".part-c") && name.ends_with(IN_PROGRESS_SUFFIX) {
                remove(&path)?;
                continue;
            }
            if !(name.starts_with(JOURNAL_PREFIX) && name.ends_with(".json")) {
                continue;
            }
            let journal: Option<Journal> = std::fs::read(&path)
                .ok()
                .and_then(|text| serde_json::from_slice(&text).ok());
            match journal {
                Some(journal) if dir.join(&journal.output).exists() => {
                    tracing::info!(journal = %path.display(), "finishing an interrupted compaction");
                    finish(&dir, &journal, &path)?;
                }
                _ => {
                    tracing::info!(journal = %path.display(), "rolling back an interrupted compaction");
                    remove(&path)?;
                }
            }
        }
        Ok(())
    }

    /// The partitions of `source` whose day is more than `days` days before
    /// `now`'s day (`days = 0` keeps only today), with their sizes.
    pub fn expiring(&self, source: Source, days: u32, now: DateTime<Utc>) -> Result<Vec<Expired>> {
        let cutoff = (now - Duration::days(i64::from(days)))
            .format("%Y-%m-%d")
            .to_string();
        let mut expiring = Vec::new();
        for day in self.days(source)? {
            if day >= cutoff {
                continue;
            }
            let dir = self.partition_dir(source, &day);
            let (mut files, mut bytes) = (0, 0);
            if let Some(remote) = &self.remote {
                for object in wait(remote.all(&partition_relative(source, &day)))? {
                    if object.location.as_ref().ends_with(".parquet") {
                        files += 1;
                        bytes += object.size;
                    }
                }
            } else if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    if entry.file_name().to_string_lossy().ends_with(".parquet") {
                        files += 1;
                        bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
                    }
                }
            }
            expiring.push(Expired {
                source: source.name().to_string(),
                day,
                files,
                bytes,
            });
        }
        Ok(expiring)
    }

    /// Deletes the [`Lake::expiring`] partitions and returns them.
    pub fn expire(&self, source: Source, days: u32, now: DateTime<Utc>) -> Result<Vec<Expired>> {
        let expired = self.expiring(source, days, now)?;
        for partition in &expired {
            if let Some(remote) = &self.remote {
                let relative = partition_relative(source, &partition.day);
                let objects: Vec<String> = wait(remote.all(&relative))?
                    .iter()
                    .map(|o| remote.relative(o.location.as_ref()).to_string())
                    .collect();
                wait(remote.delete(&objects))?;
                continue;
            }
            let dir = self.partition_dir(source, &partition.day);
            std::fs::remove_dir_all(&dir).map_err(|source| Error::Write { path: dir, source })?;
        }
        Ok(expired)
    }
}

/// The `dt` partitions of `source` in a lake on object storage, oldest first.
pub(crate) async fn remote_days(remote: &Remote, source: Source) -> Result<Vec<String>> {
    let (names, _) = remote
        .children(&format!("source={}", source.name()))
        .await?;
    let mut days: Vec<String> = names
        .iter()
        .filter_map(|name| name.strip_prefix(DAY_PARTITION)?.strip_prefix('='))
        .filter(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok())
        .map(str::to_string)
        .collect();
    days.sort();
    Ok(days)
}

/// [`finish`] on object storage: deletes the inputs, then the journal.
async fn remote_finish(
    remote: &Remote,
    partition: &str,
    journal: &Journal,
    journal_name: &str,
) -> Result<()> {
    let inputs: Vec<String> = journal
        .inputs
        .iter()
        .filter(|input| **input != journal.output)
        .map(|input| format!("{partition}/{input}"))
        .collect();
    remote.delete(&inputs).await?;
    remote
        .delete(&[format!("{partition}/{journal_name}")])
        .await
}

/// [`Lake::recover_compaction`] on object storage.
async fn remote_recover(remote: &Remote, partition: &str) -> Result<()> {
    let (_, objects) = remote.children(partition).await?;
    let names: HashSet<String> = objects
        .iter()
        .filter_map(|o| o.location.filename().map(str::to_string))
        .collect();
    for name in &names {
        if !(name.starts_with(JOURNAL_PREFIX) && name.ends_with(".json")) {
            continue;
        }
        let relative = format!("{partition}/{name}");
        let journal: Option<Journal> = remote
            .get(&relative)
            .await
            .ok()
            .and_then(|text| serde_json::from_slice(&text).ok());
        match journal {
            Some(journal) if names.contains(&journal.output) => {
                tracing::info!(journal = %remote.url_of(&relative), "finishing an interrupted compaction");
                remote_finish(remote, partition, &journal, name).await?;
            }
            _ => {
                tracing::info!(journal = %remote.url_of(&relative), "rolling back an interrupted compaction");
                remote.delete(&[relative]).await?;
            }
        }
    }
    Ok(())
}

fn finish(dir: &Path, journal: &Journal, journal_path: &Path) -> Result<()> {
    for input in &journal.inputs {
        let path = dir.join(input);
        if input != &journal.output && path.exists() {
            remove(&path)?;
        }
    }
    remove(journal_path)
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Write {
            path: path.to_path_buf(),
            source,
        }),
    }
}
