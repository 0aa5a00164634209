//! Turning input objects into Parquet files of the lake.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{
    make_view, ArrayRef, AsArray as _, BooleanBuilder, Int64Builder, NullBufferBuilder,
    RecordBatch, StringViewArray, TimestampMicrosecondArray, MAX_INLINE_VIEW_LEN,
};
use datafusion::arrow::buffer::{Buffer, ScalarBuffer};
use datafusion::arrow::compute::interleave_record_batch;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimestampMicrosecondType};
use datafusion::parquet::arrow::arrow_writer::ArrowWriterOptions;
use datafusion::parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowWriter};
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
    /// The batches' schema, [`Source::view_schema`].
    chunk_schema: SchemaRef,
    /// How part files are written; with the file schema's Arrow metadata.
    writer_properties: WriterProperties,
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
}

/// One object read and parsed, ready for [`IngestBatch::accept`].
struct Prepared {
    key: String,
    size: u64,
    sha256: String,
    /// The records by day partition, in input order within each day, as
    /// Arrow batches of the [view schema](Source::view_schema).
    days: Vec<(String, RecordBatch)>,
    problems: Vec<Problem>,
}

/// Decompresses and parses one object: the part of ingest that runs in
/// parallel. Its text columns are views into the decompressed content, so
/// no value is copied between the input and the Parquet encoder.
fn prepare(
    source: Source,
    options: &ParseOptions,
    chunk_schema: &SchemaRef,
    object: InputObject,
) -> Prepared {
    let key = object.key.clone();
    let size = object.size;
    let sha256 = object.sha256.clone();
    let modified = object.modified;
    let (content, gzip_problem) = object.into_content();
    let content = Buffer::from_vec(content);
    let text = content.as_slice();
    let parsed = match source {
        Source::CloudTrail => crate::cloudtrail::parse(text),
        Source::K8sAudit => crate::k8s_audit::parse(text),
        Source::Json => crate::json_lines::parse(text, &options.json),
        Source::Syslog => {
            let reference = options
                .syslog_reference
                .or(modified)
                .unwrap_or_else(chrono::Utc::now);
            crate::syslog::parse(text, reference)
        }
    };
    let mut problems: Vec<Problem> = gzip_problem.into_iter().chain(parsed.problems).collect();
    let days = group_by_day(parsed.events)
        .into_iter()
        .map(|(day, events)| Ok((day, to_chunk(chunk_schema, &content, &events)?)))
        .collect::<Result<_>>()
        .unwrap_or_else(|error| {
            // Only an object whose text is over 4 GiB gets here: quarantined
            // whole, with the reason, and the rest of the batch goes on.
            problems.push(Problem {
                record_index: None,
                byte_offset: None,
                reason: format!("none of the object's records were written: {error}"),
                record: None,
            });
            Vec::new()
        });
    Prepared {
        key,
        size,
        sha256,
        days,
        problems,
    }
}

/// Splits an object's events by day on the parsing thread, so the thread
/// that writes only moves whole runs. An object rarely spans more than two
/// days (CloudTrail writes one file per few minutes), hence a list.
fn group_by_day(events: Vec<Event<'_>>) -> Vec<(String, Vec<Event<'_>>)> {
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
    /// Chunks of parsed objects waiting to be written, in input order.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
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
            chunk_schema: source.view_schema(),
            writer_properties: part_writer_properties(source, ROW_GROUP_ROWS),
            token,
            hashes: HashSet::new(),
            objects: Vec::new(),
            partitions: BTreeMap::new(),
            encodings: VecDeque::new(),
            quarantine: Vec::new(),
            records: 0,
            pending_rows: 0,
            spool: lake.is_remote().then(crate::remote::spool_dir),
        }
    }

    /// Writes row groups of at most `rows` rows (default 256 Ki): smaller
    /// groups let time filters skip finer, at some cost in size and speed.
    pub fn with_row_group_rows(mut self, rows: usize) -> IngestBatch {
        self.writer_properties = part_writer_properties(self.source, rows.max(1));
        self
    }

    /// Parses `object` and adds its valid records to the batch; its problems
    /// go to the quarantine. Fails only when the lake cannot be written.
    pub fn add(&mut self, object: &InputObject) -> Result<Added> {
        if self.hashes.contains(&object.sha256) {
            return Ok(Added::DuplicateInBatch);
        }
        // The batch keeps the content it parsed (its text is not copied),
        // so it takes a copy of the object.
        let prepared = prepare(
            self.source,
            &self.options,
            &self.chunk_schema,
            object.clone(),
        );
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
        let chunk_schema = &self.chunk_schema.clone();
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
                            Ok(object) => Stage::Prepared(Box::new(prepare(
                                source,
                                options,
                                chunk_schema,
                                object,
                            ))),
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
            records: days.iter().map(|(_, chunk)| chunk.num_rows() as u64).sum(),
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
        for (day, chunk) in days {
            self.push(day, chunk)?;
        }
        self.records += ingested.records;
        self.objects.push(ingested.clone());
        Ok(Added::Ingested(ingested))
    }

    fn push(&mut self, day: String, chunk: RecordBatch) -> Result<()> {
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
                        pending_rows: 0,
                    })
            }
        };
        let added = chunk.num_rows();
        partition.pending.push(chunk);
        partition.pending_rows += added;
        if partition.pending_rows >= FLUSH_ROWS {
            self.pending_rows -= partition.pending_rows - added;
            partition.flush(&self.chunk_schema, &self.writer_properties)?;
            self.encoding_started(day)?;
        } else {
            self.pending_rows += added;
        }
        if self.pending_rows >= MAX_PENDING_ROWS {
            // Records of many days at once: write the biggest buffer.
            if let Some((day, biggest)) = self
                .partitions
                .iter_mut()
                .max_by_key(|(_, partition)| partition.pending_rows)
            {
                self.pending_rows -= biggest.pending_rows;
                biggest.flush(&self.chunk_schema, &self.writer_properties)?;
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
            partition.flush(&self.chunk_schema, &self.writer_properties)?;
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
    /// Hands the pending chunks to a new encoding thread, which sorts their
    /// rows by time and writes them as one batch.
    fn flush(&mut self, schema: &SchemaRef, properties: &WriterProperties) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        self.finish_encoding()?;
        let mut writer = match self.writer.take() {
            Some(writer) => writer,
            None => self.create_writer(schema, properties)?,
        };
        let path = self.in_progress.clone();
        self.encoding = Some(std::thread::spawn(move || {
            let batch = sorted_by_time(&chunks)?;
            drop(chunks);
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

    fn create_writer(
        &self,
        schema: &SchemaRef,
        properties: &WriterProperties,
    ) -> Result<PartWriter> {
        if let Some(dir) = self.in_progress.parent() {
            create_dir(dir)?;
        }
        let file = File::create(&self.in_progress).map_err(|source| Error::Write {
            path: self.in_progress.clone(),
            source,
        })?;
        // The Arrow schema in the file's metadata is the file schema, set in
        // `properties`: readers see the same file as one compaction writes.
        let options = ArrowWriterOptions::new()
            .with_properties(properties.clone())
            .with_skip_arrow_metadata(true);
        ArrowWriter::try_new_with_options(BufWriter::new(file), schema.clone(), options).map_err(
            |source| Error::Parquet {
                path: self.in_progress.clone(),
                source,
            },
        )
    }
}

pub(crate) fn writer_properties() -> WriterProperties {
    writer_properties_with(ROW_GROUP_ROWS)
}

/// [`writer_properties_with`], declaring `source`'s file schema as the
/// files' Arrow schema although they are written from [`Source::view_schema`] batches.
fn part_writer_properties(source: Source, row_group_rows: usize) -> WriterProperties {
    let mut properties = writer_properties_with(row_group_rows);
    add_encoded_arrow_schema_to_metadata(&source.file_schema(), &mut properties);
    properties
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

/// Buffer index of an object's content in its chunk's view columns.
const CONTENT_BLOCK: u32 = 0;
/// Buffer index of the values that are not in the content (unescaped
/// strings, values a parser built).
const SIDE_BLOCK: u32 = 1;

/// Where a chunk's view columns point: the object's content, and a side
/// buffer for the few values that are not in it.
struct Blocks<'c> {
    content: &'c [u8],
    side: Vec<u8>,
}

impl Blocks<'_> {
    /// The view of `value`: inline when short, else into the content when
    /// `value` lies in it, else into the side buffer (copied there).
    fn view(&mut self, value: &str) -> Result<u128> {
        let bytes = value.as_bytes();
        if bytes.len() <= MAX_INLINE_VIEW_LEN as usize {
            return Ok(make_view(bytes, CONTENT_BLOCK, 0));
        }
        let start = (bytes.as_ptr() as usize).wrapping_sub(self.content.as_ptr() as usize);
        let (block, offset) =
            if start < self.content.len() && bytes.len() <= self.content.len() - start {
                (CONTENT_BLOCK, start)
            } else {
                self.side.extend_from_slice(bytes);
                (SIDE_BLOCK, self.side.len() - bytes.len())
            };
        let offset = u32::try_from(offset).map_err(|_| Error::InvalidInput {
            what: "object",
            reason: "its text is over 4 GiB, more than one Arrow batch can address; \
                     split the file"
                .to_string(),
        })?;
        Ok(make_view(bytes, block, offset))
    }
}

/// A text column of a chunk being built.
struct ViewColumn {
    views: Vec<u128>,
    nulls: NullBufferBuilder,
}

impl ViewColumn {
    fn with_capacity(rows: usize) -> ViewColumn {
        ViewColumn {
            views: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    fn append(&mut self, blocks: &mut Blocks<'_>, value: Option<&str>) -> Result<()> {
        match value {
            Some(value) => {
                self.views.push(blocks.view(value)?);
                self.nulls.append_non_null();
            }
            None => {
                self.views.push(0);
                self.nulls.append_null();
            }
        }
        Ok(())
    }

    fn finish(mut self, buffers: &[Buffer]) -> ArrayRef {
        let views = ScalarBuffer::from(self.views);
        // SAFETY: every view was made by `Blocks::view` from a `&str` (valid
        // UTF-8) that lies within `buffers[CONTENT_BLOCK]` at that offset,
        // or was copied to the end of what became `buffers[SIDE_BLOCK]`;
        // null slots hold the empty view. `StringViewArray::try_new` would
        // check the same again, UTF-8 included: a few percent of ingest.
        let array =
            unsafe { StringViewArray::new_unchecked(views, buffers.to_vec(), self.nulls.finish()) };
        #[cfg(debug_assertions)]
        if let Err(error) = datafusion::arrow::array::Array::to_data(&array).validate_full() {
            panic!("a view column of ingest is invalid: {error}");
        }
        Arc::new(array)
    }
}

/// `events` of one object as one batch of the [view schema](Source::view_schema),
/// its text pointing into `content`, the object's bytes they were read from.
fn to_chunk(schema: &SchemaRef, content: &Buffer, events: &[Event<'_>]) -> Result<RecordBatch> {
    let rows = events.len();
    let mut blocks = Blocks {
        content: content.as_slice(),
        side: Vec::new(),
    };
    let mut time = Vec::with_capacity(rows);
    // Every normalised column but `time` is text.
    let mut texts: Vec<ViewColumn> = NORMALISED_COLUMNS[1..]
        .iter()
        .map(|_| ViewColumn::with_capacity(rows))
        .collect();
    // The source's own columns sit between the normalised ones and `raw`.
    let field_count = schema.fields().len();
    let mut extras: Vec<ExtraBuilder> = schema.fields()[NORMALISED_COLUMNS.len()..field_count - 1]
        .iter()
        .map(|field| match field.data_type() {
            DataType::Boolean => ExtraBuilder::Bool(BooleanBuilder::with_capacity(rows)),
            DataType::Int64 => ExtraBuilder::Int(Int64Builder::with_capacity(rows)),
            _ => ExtraBuilder::Text(ViewColumn::with_capacity(rows)),
        })
        .collect();
    let extra_count = extras.len();
    let mut raw = ViewColumn::with_capacity(rows);
    for event in events {
        time.push(event.time.timestamp_micros());
        let normalised = [
            event.actor.as_deref(),
            Some(&event.action),
            Some(event.outcome.as_str()),
            event.src_ip.as_deref(),
            event.user_agent.as_deref(),
            event.region.as_deref(),
            event.account.as_deref(),
            event.resource.as_deref(),
            event.request_id.as_deref(),
            event.error_code.as_deref(),
        ];
        for (column, value) in texts.iter_mut().zip(normalised) {
            column.append(&mut blocks, value)?;
        }
        if event.extra.len() != extra_count {
            return Err(Error::InvalidInput {
                what: "event",
                reason: format!("{} extra values, expected {extra_count}", event.extra.len()),
            });
        }
        for (builder, value) in extras.iter_mut().zip(&event.extra) {
            builder.append(&mut blocks, value)?;
        }
        raw.append(&mut blocks, Some(&event.raw))?;
    }
    let buffers = [content.clone(), Buffer::from_vec(blocks.side)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(
        TimestampMicrosecondArray::from(time).with_timezone(TIME_ZONE),
    )];
    columns.extend(texts.into_iter().map(|column| column.finish(&buffers)));
    columns.extend(extras.into_iter().map(|builder| builder.finish(&buffers)));
    columns.push(raw.finish(&buffers));
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The rows of `chunks` as one batch sorted by time; stable, so equal
/// times keep their input order. Only the views move, not the text.
fn sorted_by_time(chunks: &[RecordBatch]) -> Result<RecordBatch> {
    let mut order: Vec<(i64, usize, usize)> = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        let times = chunk.column(0).as_primitive::<TimestampMicrosecondType>();
        order.extend(
            times
                .values()
                .iter()
                .enumerate()
                .map(|(row, &time)| (time, index, row)),
        );
    }
    order.sort_by_key(|&(time, _, _)| time);
    let indices: Vec<(usize, usize)> = order
        .into_iter()
        .map(|(_, chunk, row)| (chunk, row))
        .collect();
    let chunks: Vec<&RecordBatch> = chunks.iter().collect();
    Ok(interleave_record_batch(&chunks, &indices)?)
}

enum ExtraBuilder {
    Text(ViewColumn),
    Bool(BooleanBuilder),
    Int(Int64Builder),
}

impl ExtraBuilder {
    fn append(&mut self, blocks: &mut Blocks<'_>, value: &ExtraValue<'_>) -> Result<()> {
        match (self, value) {
            (ExtraBuilder::Text(column), ExtraValue::Text(value)) => {
                column.append(blocks, value.as_deref())?;
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

    fn finish(self, buffers: &[Buffer]) -> ArrayRef {
        match self {
            ExtraBuilder::Text(column) => column.finish(buffers),
            ExtraBuilder::Bool(mut builder) => Arc::new(builder.finish()),
            ExtraBuilder::Int(mut builder) => Arc::new(builder.finish()),
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
    use datafusion::arrow::array::Array;

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

    /// A CloudTrail file whose records need every kind of view: values in
    /// the content, an escaped value (unescaped into the side buffer), short
    /// values inline, nulls, and a raw record that is not UTF-8.
    #[test]
    fn chunks_point_into_the_content_and_copy_only_what_is_not_there() {
        let plain = r#"{"eventVersion":"1.08","eventTime":"2026-11-23T08:00:00Z","eventName":"GetObject","userIdentity":{"arn":"arn:aws:iam::111122223333:user/alice"},"userAgent":"aws-cli/2.15.0 Python/3.11"}"#;
        let escaped = r#"{"eventVersion":"1.08","eventTime":"2026-11-23T07:00:00Z","eventName":"PutObject","userIdentity":{"arn":"arn:aws:iam::111122223333:user/b\u00f6b"},"userAgent":"Mozilla/5.0 \"quoted\""}"#;
        // An invalid byte in a field the parser skips: the record is kept,
        // its raw text repaired.
        let not_utf8 = plain
            .replace("GetObject", "GetObject2")
            .replace("1.08", "1.0\u{1}8")
            .into_bytes()
            .into_iter()
            .map(|byte| if byte == 1 { 0xff } else { byte });
        let mut content = format!("{{\"Records\":[{plain},{escaped},").into_bytes();
        content.extend(not_utf8);
        content.extend_from_slice(b"]}");
        let (content_start, content_len) = (content.as_ptr(), content.len());
        let object = InputObject::from_bytes(Path::new("x.json"), content);
        let schema = Source::CloudTrail.view_schema();
        let prepared = prepare(
            Source::CloudTrail,
            &ParseOptions::default(),
            &schema,
            object,
        );
        assert!(prepared.problems.is_empty(), "{:?}", prepared.problems);
        let (day, chunk) = &prepared.days[0];
        assert_eq!(day, "2026-11-23");
        assert_eq!(chunk.num_rows(), 3);
        let text = |name: &str| {
            let column = chunk.column_by_name(name).expect("column");
            let column = column.as_string_view();
            (0..column.len())
                .map(|row| column.is_valid(row).then(|| column.value(row).to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text("actor"),
            [
                Some("arn:aws:iam::111122223333:user/alice".to_string()),
                Some("arn:aws:iam::111122223333:user/b\u{f6}b".to_string()),
                Some("arn:aws:iam::111122223333:user/alice".to_string()),
            ]
        );
        assert_eq!(
            text("user_agent")[1].as_deref(),
            Some("Mozilla/5.0 \"quoted\"")
        );
        assert_eq!(text("action")[0].as_deref(), Some("GetObject"));
        assert_eq!(text("outcome")[0].as_deref(), Some("success"));
        assert_eq!(text("region"), [None, None, None]);
        assert_eq!(text("raw")[0].as_deref(), Some(plain));
        let lossy = text("raw")[2].clone().expect("raw");
        assert!(lossy.contains('\u{fffd}'), "{lossy}");

        // The content is shared, not copied; the side buffer holds only the
        // unescaped values and the repaired raw record.
        let raw = chunk.column_by_name("raw").expect("raw");
        let raw = raw.as_string_view();
        let buffers = raw.data_buffers();
        // The object's own bytes, handed over: not even they were copied.
        assert_eq!(buffers[CONTENT_BLOCK as usize].as_ptr(), content_start);
        assert_eq!(buffers[CONTENT_BLOCK as usize].len(), content_len);
        let side = buffers[SIDE_BLOCK as usize].len();
        let unescaped = "arn:aws:iam::111122223333:user/b\u{f6}b".len()
            + "Mozilla/5.0 \"quoted\"".len()
            + lossy.len();
        assert_eq!(side, unescaped);
        raw.to_data().validate_full().expect("valid views");
    }

    /// Chunks are built with views; the files declare the plain text
    /// schema every reader (and compaction) uses.
    #[test]
    fn part_files_declare_the_file_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lake = Lake::new(dir.path());
        let record = r#"{"eventVersion":"1.08","eventTime":"2026-11-23T08:00:00Z","eventName":"GetObject","userIdentity":{"arn":"arn:aws:iam::111122223333:user/alice"}}"#;
        let object = InputObject::from_bytes(
            Path::new("x.json"),
            format!("{{\"Records\":[{record}]}}").into_bytes(),
        );
        let mut batch = lake.begin(Source::CloudTrail);
        batch.add(&object).expect("added");
        let summary = batch.commit().expect("committed");
        let file = File::open(&summary.files[0]).expect("part file");
        let reader =
            datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                file,
            )
            .expect("parquet");
        assert_eq!(
            reader.schema().as_ref(),
            Source::CloudTrail.file_schema().as_ref()
        );
    }
}
