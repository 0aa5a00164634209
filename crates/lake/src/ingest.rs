//! Turning input objects into Parquet files of the lake.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use rayon::iter::{ParallelBridge as _, ParallelIterator as _};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::input::InputObject;
use crate::quarantine::{Problem, QuarantineEntry, QUARANTINE_DIR};
use crate::schema::{
    Event, ExtraValue, Source, DAY_PARTITION, NORMALISED_COLUMNS, RAW_COLUMN, TIME_ZONE,
};
use crate::{Lake, ParseOptions};

/// Rows buffered per partition before they are sorted by time and written
/// as one Arrow batch (row groups are up to [`ROW_GROUP_ROWS`]).
const FLUSH_ROWS: usize = 64 * 1024;
/// Rows buffered over all partitions before the biggest buffer is written,
/// whatever its size: bounds memory when records of many days arrive mixed.
const MAX_PENDING_ROWS: usize = 64 * 1024;
/// Rows per Parquet row group: each keeps min/max statistics, so a time
/// filter skips the row groups outside its range.
const ROW_GROUP_ROWS: usize = 256 * 1024;
/// Encoded bytes at which a row group is closed before [`ROW_GROUP_ROWS`].
const ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;
/// Partition buffers being encoded at once, on threads of their own.
const MAX_ENCODINGS: usize = 4;
/// zstd level of the Parquet pages. Level 1 compresses CloudTrail's raw
/// JSON about a third faster than zstd's default 3; the benchmark's lake
/// did not grow (946 MB; 974 MB at level 3 before the other changes of
/// docs/benchmarks.md's ingest list).
const ZSTD_LEVEL: i32 = 1;
/// Columns with a different value in (nearly) every record: a dictionary
/// would be built and dropped for each row group.
const UNIQUE_PER_RECORD: &[&str] = &["request_id", "event_id"];
/// Suffix of a part file being written; no reader lists it.
pub(crate) const IN_PROGRESS_SUFFIX: &str = ".inprogress";

/// What one object gave to a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedObject {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    /// Records written to the lake.
    pub records: u64,
    /// Problems sent to the quarantine (bad records, or the object as a whole).
    pub quarantined: u64,
}

/// What [`IngestBatch::add`] did with an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Parsed: its valid records are in the batch, its problems in the quarantine.
    Ingested(IngestedObject),
    /// The same content was already added to this batch (under another path).
    DuplicateInBatch,
}

/// The result of a committed batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// The batch's id, the `<batch>` of `part-<batch>.parquet`: derived
    /// from the content hashes of its objects, so writing the same objects
    /// again (after a crash before the manifest was updated) replaces the
    /// same files instead of adding duplicates. `None` when nothing was added.
    pub batch: Option<String>,
    pub objects: Vec<IngestedObject>,
    pub records: u64,
    pub quarantined: u64,
    /// The Parquet files written, one per day.
    pub files: Vec<PathBuf>,
    /// The quarantine file, if anything was quarantined.
    pub quarantine_file: Option<PathBuf>,
}

/// A set of objects of one source written together: one Parquet file per
/// day they cover, one quarantine file.
///
/// Nothing is visible in the lake until [`IngestBatch::commit`]: part files
/// are written under a hidden in-progress name and renamed at the end. A batch
/// dropped without commit removes its in-progress files.
pub struct IngestBatch {
    lake: Lake,
    source: Source,
    options: ParseOptions,
    schema: SchemaRef,
    token: String,
    hashes: HashSet<String>,
    objects: Vec<IngestedObject>,
    partitions: BTreeMap<String, PartitionWriter>,
    /// Days whose buffer is being encoded, oldest first.
    encodings: VecDeque<String>,
    quarantine: Vec<QuarantineEntry>,
    records: u64,
    /// Rows buffered over all partitions.
    pending_rows: usize,
    /// For a lake on object storage: where files are built before upload.
    spool: Option<PathBuf>,
    row_group_rows: usize,
}

/// One object read and parsed, ready for [`IngestBatch::accept`].
struct Prepared {
    key: String,
    size: u64,
    sha256: String,
    /// The records by day partition, in input order within each day.
    days: Vec<(String, Vec<Event>)>,
    problems: Vec<Problem>,
}

/// Decompresses and parses one object: the part of ingest that runs in parallel.
fn prepare(source: Source, options: &ParseOptions, object: &InputObject) -> Prepared {
    let (content, gzip_problem) = object.content();
    let parsed = match source {
        Source::CloudTrail => crate::cloudtrail::parse(&content),
        Source::K8sAudit => crate::k8s_audit::parse(&content),
        Source::Json => crate::json_lines::parse(&content, &options.json),
        Source::Syslog => {
            let reference = options
                .syslog_reference
                .or(object.modified)
                .unwrap_or_else(chrono::Utc::now);
            crate::syslog::parse(&content, reference)
        }
    };
    Prepared {
        key: object.key.clone(),
        size: object.size,
        sha256: object.sha256.clone(),
        days: group_by_day(parsed.events),
        problems: gzip_problem.into_iter().chain(parsed.problems).collect(),
    }
}

/// Splits an object's events by day on the parsing thread, so the thread
/// that writes only moves whole runs. An object rarely spans more than two
/// days (CloudTrail writes one file per few minutes), hence a list.
fn group_by_day(events: Vec<Event>) -> Vec<(String, Vec<Event>)> {
    let mut days: Vec<(chrono::NaiveDate, Vec<Event>)> = Vec::new();
    for event in events {
        let date = event.time.date_naive();
        match days.iter_mut().find(|(day, _)| *day == date) {
            Some((_, events)) => events.push(event),
            None => days.push((date, vec![event])),
        }
    }
    // Each group has at least the event that opened it; its partition name
    // is that event's, as everywhere else.
    days.into_iter()
        .map(|(_, events)| (events[0].day(), events))
        .collect()
}

/// Where an object of [`IngestBatch::add_parallel`] is between the threads.
enum Stage {
    Unreadable(String),
    AlreadyIngested(String),
    Prepared(Box<Prepared>),
}

/// What [`IngestBatch::add_parallel`] did with one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectReport {
    /// The item's label (its path or S3 key).
    pub label: String,
    pub outcome: ObjectOutcome,
}

/// See [`ObjectReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectOutcome {
    /// Parsed and added (its problems are in the quarantine).
    Ingested(IngestedObject),
    /// Its hash is in the manifest: ingested by an earlier run.
    AlreadyIngested { sha256: String },
    /// The same content was already added to this batch (under another name).
    DuplicateInBatch,
    /// It could not be read; nothing of it was added.
    Unreadable(String),
}

type PartWriter = ArrowWriter<BufWriter<File>>;

/// One day's part file. Its buffered events are encoded on a thread of their
/// own (sorting, building the Arrow batch, Parquet encoding and zstd: most of
/// ingest's work), so the thread that gathers parsed objects never waits for
/// it and several partitions encode at once. A partition has at most one
/// encoding in flight and its row groups are written in flush order, so the
/// files do not depend on thread timing.
struct PartitionWriter {
    in_progress: PathBuf,
    writer: Option<PartWriter>,
    encoding: Option<std::thread::JoinHandle<Result<PartWriter>>>,
    pending: Vec<Event>,
}

impl IngestBatch {
    pub(crate) fn new(lake: Lake, source: Source, options: ParseOptions) -> IngestBatch {
        let token = format!(
            "{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        IngestBatch {
            lake: lake.clone(),
            source,
            options,
            schema: source.file_schema(),
            token,
            hashes: HashSet::new(),
            objects: Vec::new(),
            partitions: BTreeMap::new(),
            encodings: VecDeque::new(),
            quarantine: Vec::new(),
            records: 0,
            pending_rows: 0,
            spool: lake.is_remote().then(crate::remote::spool_dir),
            row_group_rows: ROW_GROUP_ROWS,
        }
    }

    /// Writes row groups of at most `rows` rows (default 256 Ki): smaller
    /// groups let time filters skip finer, at some cost in size and speed.
    pub fn with_row_group_rows(mut self, rows: usize) -> IngestBatch {
        self.row_group_rows = rows.max(1);
        self
    }

    /// Parses `object` and adds its valid records to the batch; its problems
    /// go to the quarantine. Fails only when the lake cannot be written.
    pub fn add(&mut self, object: &InputObject) -> Result<Added> {
        if self.hashes.contains(&object.sha256) {
            return Ok(Added::DuplicateInBatch);
        }
        let prepared = prepare(self.source, &self.options, object);
        self.accept(prepared)
    }

    /// Reads, parses and adds many objects, on every core: `read` turns
    /// an item into an object (reading a file, fetching an S3 object) and
    /// runs in parallel with the parsing, while this thread writes the
    /// Parquet files. Objects whose hash is in `known` (the manifest) are
    /// skipped. Results come back in the order of `items`, named by the
    /// item's label, and the lake's files do not depend on thread timing.
    ///
    /// Memory stays bounded: at most a few objects per core are in flight,
    /// and parsed records wait in memory only until their partition's
    /// buffer is written.
    pub fn add_parallel<T, R>(
        &mut self,
        items: Vec<(String, T)>,
        read: R,
        known: &HashSet<String>,
    ) -> Result<Vec<ObjectReport>>
    where
        T: Send,
        R: Fn(T) -> Result<InputObject> + Sync,
    {
        let source = self.source;
        let options = &self.options.clone();
        let stop = AtomicBool::new(false);
        let threads = rayon::current_num_threads().max(1);
        let (sender, receiver) =
            std::sync::mpsc::sync_channel::<(usize, String, Stage)>(threads * 2);
        let mut reports: Vec<ObjectReport> = Vec::with_capacity(items.len());
        std::thread::scope(|scope| {
            let stop = &stop;
            let read = &read;
            scope.spawn(move || {
                items.into_iter().enumerate().par_bridge().for_each_with(
                    sender,
                    |sender, (position, (label, item))| {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let stage = match read(item) {
                            Err(error) => Stage::Unreadable(error.to_string()),
                            Ok(object) if known.contains(&object.sha256) => {
                                Stage::AlreadyIngested(object.sha256)
                            }
                            Ok(object) => {
                                Stage::Prepared(Box::new(prepare(source, options, &object)))
                            }
                        };
                        // The receiver is gone only when writing failed.
                        let _ = sender.send((position, label, stage));
                    },
                );
            });
            // Objects come back in any order; put them back in item order so
            // the files written do not depend on which thread was faster.
            let mut waiting: BTreeMap<usize, (String, Stage)> = BTreeMap::new();
            let mut next = 0;
            for (position, label, stage) in receiver {
                waiting.insert(position, (label, stage));
                while let Some((label, stage)) = waiting.remove(&next) {
                    next += 1;
                    let outcome = match stage {
                        Stage::Unreadable(error) => ObjectOutcome::Unreadable(error),
                        Stage::AlreadyIngested(sha256) => ObjectOutcome::AlreadyIngested { sha256 },
                        Stage::Prepared(prepared) if self.hashes.contains(&prepared.sha256) => {
                            let _ = prepared;
                            ObjectOutcome::DuplicateInBatch
                        }
                        Stage::Prepared(prepared) => match self.accept(*prepared) {
                            Ok(Added::Ingested(object)) => ObjectOutcome::Ingested(object),
                            Ok(Added::DuplicateInBatch) => ObjectOutcome::DuplicateInBatch,
                            Err(error) => {
                                stop.store(true, Ordering::Relaxed);
                                return Err(error);
                            }
                        },
                    };
                    reports.push(ObjectReport { label, outcome });
                }
            }
            Ok(())
        })?;
        Ok(reports)
    }

    /// Adds an object parsed by [`prepare`].
    fn accept(&mut self, prepared: Prepared) -> Result<Added> {
        if !self.hashes.insert(prepared.sha256.clone()) {
            return Ok(Added::DuplicateInBatch);
        }
        let Prepared {
            key,
            size,
            sha256,
            days,
            problems,
        } = prepared;
        let ingested = IngestedObject {
            key,
            size,
            sha256,
            records: days.iter().map(|(_, events)| events.len() as u64).sum(),
            quarantined: problems.len() as u64,
        };
        for problem in problems {
            tracing::debug!(object = %ingested.key, reason = %problem.reason, "quarantined");
            self.quarantine.push(QuarantineEntry {
                source: self.source.name().to_string(),
                object: ingested.key.clone(),
                sha256: ingested.sha256.clone(),
                record_index: problem.record_index,
                byte_offset: problem.byte_offset,
                reason: problem.reason,
                record: problem.record,
            });
        }
        for (day, events) in days {
            self.push(day, events)?;
        }
        self.records += ingested.records;
        self.objects.push(ingested.clone());
        Ok(Added::Ingested(ingested))
    }

    fn push(&mut self, day: String, events: Vec<Event>) -> Result<()> {
        let partition = match self.partitions.get_mut(&day) {
            Some(partition) => partition,
            None => {
                let dir = match &self.spool {
                    Some(spool) => spool.join(partition_relative(self.source, &day)),
                    None => self.lake.partition_dir(self.source, &day),
                };
                let in_progress =
                    dir.join(format!(".part-{}.parquet{IN_PROGRESS_SUFFIX}", self.token));
                self.partitions
                    .entry(day.clone())
                    .or_insert(PartitionWriter {
                        in_progress,
                        writer: None,
                        encoding: None,
                        pending: Vec::new(),
                    })
            }
        };
        let added = events.len();
        if partition.pending.is_empty() {
            partition.pending = events;
        } else {
            partition.pending.extend(events);
        }
        if partition.pending.len() >= FLUSH_ROWS {
            self.pending_rows -= partition.pending.len() - added;
            partition.flush(&self.schema, self.row_group_rows)?;
            self.encoding_started(day)?;
        } else {
            self.pending_rows += added;
        }
        if self.pending_rows >= MAX_PENDING_ROWS {
            // Records of many days at once: write the biggest buffer.
            if let Some((day, biggest)) = self
                .partitions
                .iter_mut()
                .max_by_key(|(_, partition)| partition.pending.len())
            {
                self.pending_rows -= biggest.pending.len();
                biggest.flush(&self.schema, self.row_group_rows)?;
                let day = day.clone();
                self.encoding_started(day)?;
            }
        }
        Ok(())
    }

    /// Bounds the encodings in flight (each holds up to [`FLUSH_ROWS`]
    /// events in memory): past the limit, waits for the oldest.
    fn encoding_started(&mut self, day: String) -> Result<()> {
        self.encodings.push_back(day);
        while self.encodings.len() > MAX_ENCODINGS {
            if let Some(oldest) = self.encodings.pop_front() {
                if let Some(partition) = self.partitions.get_mut(&oldest) {
                    partition.finish_encoding()?;
                }
            }
        }
        Ok(())
    }

    /// Writes everything: the part files (renamed into place) and the
    /// quarantine file. The caller records [`IngestSummary::objects`] in the
    /// manifest afterwards.
    pub fn commit(mut self) -> Result<IngestSummary> {
        if self.objects.is_empty() {
            return Ok(IngestSummary::default());
        }
        let batch = batch_id(&self.objects);
        let mut files = Vec::new();
        // Every partition's last buffer is encoded at once, then each file closed.
        for partition in self.partitions.values_mut() {
            partition.flush(&self.schema, self.row_group_rows)?;
        }
        for (day, partition) in self.partitions.iter_mut() {
            partition.finish_encoding()?;
            if let Some(writer) = partition.writer.take() {
                writer.close().map_err(|source| Error::Parquet {
                    path: partition.in_progress.clone(),
                    source,
                })?;
                let name = format!("part-{batch}.parquet");
                let final_path = match &self.lake.remote {
                    Some(remote) => {
                        let relative = format!("{}/{name}", partition_relative(self.source, day));
                        crate::remote::wait(remote.upload(&partition.in_progress, &relative))?;
                        PathBuf::from(remote.url_of(&relative))
                    }
                    None => {
                        let final_path = partition.in_progress.with_file_name(name);
                        std::fs::rename(&partition.in_progress, &final_path).map_err(|source| {
                            Error::Write {
                                path: final_path.clone(),
                                source,
                            }
                        })?;
                        final_path
                    }
                };
                files.push(final_path);
            }
        }
        let quarantine_file = if self.quarantine.is_empty() {
            None
        } else {
            Some(self.write_quarantine(&batch)?)
        };
        let quarantined = self.quarantine.len() as u64;
        Ok(IngestSummary {
            batch: Some(batch),
            objects: std::mem::take(&mut self.objects),
            records: self.records,
            quarantined,
            files,
            quarantine_file,
        })
    }

    fn write_quarantine(&self, batch: &str) -> Result<PathBuf> {
        let relative = format!("{QUARANTINE_DIR}/source={}", self.source.name());
        let dir = self
            .spool
            .as_deref()
            .unwrap_or(self.lake.root())
            .join(&relative);
        create_dir(&dir)?;
        let path = dir.join(format!("{batch}.jsonl"));
        let write_error = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let mut out = BufWriter::new(File::create(&path).map_err(write_error)?);
        for entry in &self.quarantine {
            serde_json::to_writer(&mut out, entry)
                .map_err(|error| write_error(std::io::Error::other(error)))?;
            out.write_all(b"\n").map_err(write_error)?;
        }
        out.flush().map_err(write_error)?;
        drop(out);
        match &self.lake.remote {
            Some(remote) => {
                let relative = format!("{relative}/{batch}.jsonl");
                crate::remote::wait(remote.upload(&path, &relative))?;
                Ok(PathBuf::from(remote.url_of(&relative)))
            }
            None => Ok(path),
        }
    }
}

impl Drop for IngestBatch {
    fn drop(&mut self) {
        if let Some(spool) = &self.spool {
            if spool.exists() {
                if let Err(error) = std::fs::remove_dir_all(spool) {
                    tracing::warn!(path = %spool.display(), %error, "cannot remove the ingest spool");
                }
            }
            return;
        }
        for partition in self.partitions.values_mut() {
            // The encoding thread may still be writing the file.
            if let Some(encoding) = partition.encoding.take() {
                let _ = encoding.join();
            }
            if partition.in_progress.exists() {
                if let Err(error) = std::fs::remove_file(&partition.in_progress) {
                    tracing::warn!(path = %partition.in_progress.display(), %error, "cannot remove an unfinished part file");
                }
            }
        }
    }
}

impl PartitionWriter {
    /// Hands the pending events to a new encoding thread, which sorts them
    /// by time and writes them as one batch.
    fn flush(&mut self, schema: &SchemaRef, row_group_rows: usize) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.pending);
        self.finish_encoding()?;
        let mut writer = match self.writer.take() {
            Some(writer) => writer,
            None => self.create_writer(schema, row_group_rows)?,
        };
        let schema = schema.clone();
        let path = self.in_progress.clone();
        self.encoding = Some(std::thread::spawn(move || {
            // Sort an index, not the events themselves (hundreds of bytes
            // each); stable, so equal times keep their input order.
            let mut order: Vec<usize> = (0..events.len()).collect();
            order.sort_by_key(|&i| events[i].time);
            let batch = to_record_batch(&schema, &events, &order)?;
            drop(events);
            let parquet_error = |source| Error::Parquet {
                path: path.clone(),
                source,
            };
            writer.write(&batch).map_err(parquet_error)?;
            // A row group stays in memory, encoded, until it is complete:
            // close it early rather than hold a whole day of a busy account.
            if writer.in_progress_size() >= ROW_GROUP_BYTES {
                writer.flush().map_err(parquet_error)?;
            }
            Ok(writer)
        }));
        Ok(())
    }

    /// Waits for the encoding in flight, if any, and takes its writer back.
    fn finish_encoding(&mut self) -> Result<()> {
        if let Some(encoding) = self.encoding.take() {
            let writer = encoding.join().map_err(|_| Error::Write {
                path: self.in_progress.clone(),
                source: std::io::Error::other("the Parquet encoding thread panicked"),
            })??;
            self.writer = Some(writer);
        }
        Ok(())
    }

    fn create_writer(&self, schema: &SchemaRef, row_group_rows: usize) -> Result<PartWriter> {
        if let Some(dir) = self.in_progress.parent() {
            create_dir(dir)?;
        }
        let file = File::create(&self.in_progress).map_err(|source| Error::Write {
            path: self.in_progress.clone(),
            source,
        })?;
        ArrowWriter::try_new(
            BufWriter::new(file),
            schema.clone(),
            Some(writer_properties_with(row_group_rows)),
        )
        .map_err(|source| Error::Parquet {
            path: self.in_progress.clone(),
            source,
        })
    }
}

pub(crate) fn writer_properties() -> WriterProperties {
    writer_properties_with(ROW_GROUP_ROWS)
}

fn writer_properties_with(row_group_rows: usize) -> WriterProperties {
    let level = ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default();
    let raw = ColumnPath::from(RAW_COLUMN);
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        // The raw record is unique per row: a dictionary is wasted work and
        // min/max statistics of JSON text help no query.
        .set_column_dictionary_enabled(raw.clone(), false)
        .set_column_statistics_enabled(raw, EnabledStatistics::None)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_created_by(format!("palisade {}", env!("CARGO_PKG_VERSION")));
    for column in UNIQUE_PER_RECORD {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    builder.build()
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// The first 16 hex digits of the SHA-256 of the batch's sorted object hashes.
fn batch_id(objects: &[IngestedObject]) -> String {
    let mut hashes: Vec<&str> = objects.iter().map(|o| o.sha256.as_str()).collect();
    hashes.sort_unstable();
    let mut hasher = Sha256::new();
    for hash in hashes {
        hasher.update(hash.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())[..16].to_string()
}

/// `events` in the given `order` as one Arrow batch of the source's file schema.
fn to_record_batch(schema: &SchemaRef, events: &[Event], order: &[usize]) -> Result<RecordBatch> {
    let rows = order.len();
    // The raw column is most of the batch: sized exactly, it is never copied
    // to grow (and never faults in twice the memory).
    let raw_bytes = order.iter().map(|&i| events[i].raw.len()).sum();
    let mut time = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone(TIME_ZONE);
    let mut strings: Vec<StringBuilder> = (0..10)
        .map(|_| StringBuilder::with_capacity(rows, rows * 48))
        .collect();
    // The source's own columns sit between the normalised ones and `raw`.
    let field_count = schema.fields().len();
    let mut extras: Vec<ExtraBuilder> = schema.fields()[NORMALISED_COLUMNS.len()..field_count - 1]
        .iter()
        .map(|field| match field.data_type() {
            DataType::Boolean => ExtraBuilder::Bool(BooleanBuilder::with_capacity(rows)),
            DataType::Int64 => ExtraBuilder::Int(Int64Builder::with_capacity(rows)),
            _ => ExtraBuilder::Text(StringBuilder::with_capacity(rows, rows * 16)),
        })
        .collect();
    let extra_count = extras.len();
    let mut raw = StringBuilder::with_capacity(rows, raw_bytes);
    for event in order.iter().map(|&i| &events[i]) {
        time.append_value(event.time.timestamp_micros());
        strings[0].append_option(event.actor.as_deref());
        strings[1].append_value(&event.action);
        strings[2].append_value(event.outcome.as_str());
        strings[3].append_option(event.src_ip.as_deref());
        strings[4].append_option(event.user_agent.as_deref());
        strings[5].append_option(event.region.as_deref());
        strings[6].append_option(event.account.as_deref());
        strings[7].append_option(event.resource.as_deref());
        strings[8].append_option(event.request_id.as_deref());
        strings[9].append_option(event.error_code.as_deref());
        if event.extra.len() != extra_count {
            return Err(Error::InvalidInput {
                what: "event",
                reason: format!("{} extra values, expected {extra_count}", event.extra.len()),
            });
        }
        for (builder, value) in extras.iter_mut().zip(&event.extra) {
            builder.append(value)?;
        }
        raw.append_value(&event.raw);
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(time.finish())];
    columns.extend(strings.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(extras.iter_mut().map(ExtraBuilder::finish));
    columns.push(Arc::new(raw.finish()));
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

enum ExtraBuilder {
    Text(StringBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
}

impl ExtraBuilder {
    fn append(&mut self, value: &ExtraValue) -> Result<()> {
        match (self, value) {
            (ExtraBuilder::Text(builder), ExtraValue::Text(value)) => {
                builder.append_option(value.as_deref());
            }
            (ExtraBuilder::Bool(builder), ExtraValue::Bool(value)) => builder.append_option(*value),
            (ExtraBuilder::Int(builder), ExtraValue::Int(value)) => builder.append_option(*value),
            _ => {
                return Err(Error::InvalidInput {
                    what: "event",
                    reason: "extra values of different types in one batch".to_string(),
                })
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ExtraBuilder::Text(builder) => Arc::new(builder.finish()),
            ExtraBuilder::Bool(builder) => Arc::new(builder.finish()),
            ExtraBuilder::Int(builder) => Arc::new(builder.finish()),
        }
    }
}

/// `source=<source>/dt=<day>`: a partition's path relative to the lake.
pub(crate) fn partition_relative(source: Source, day: &str) -> String {
    format!("source={}/{}", source.name(), day_dir_name(day))
}

/// The `dt=` directory name of a day.
pub(crate) fn day_dir_name(day: &str) -> String {
    format!("{DAY_PARTITION}={day}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(sha: &str) -> IngestedObject {
        IngestedObject {
            key: "k".into(),
            size: 1,
            sha256: sha.into(),
            records: 0,
            quarantined: 0,
        }
    }

    #[test]
    fn batch_id_ignores_object_order() {
        let a = batch_id(&[object("aa"), object("bb")]);
        let b = batch_id(&[object("bb"), object("aa")]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 16);
        assert_ne!(a, batch_id(&[object("aa")]));
    }
}
