//! The log lake: logs to Hive-partitioned Parquet files, and SQL over them.
//!
//! This crate owns the lake's on-disk layout, the normalised event schema,
//! the source parsers (CloudTrail, Kubernetes audit), the quarantine of bad input and
//! the DataFusion session that queries the files. It must not touch the
//! database: the manifest of ingested objects lives in `palisade-store`, and
//! the caller (the CLI) checks it before adding an object and records the
//! objects after a commit. It renders query results, and nothing else.
//!
//! # Overview
//!
//! - [`Lake`] is a directory: `source=<source>/dt=<YYYY-MM-DD>/part-<batch>.parquet`
//!   (zstd), plus `_quarantine/source=<source>/<batch>.jsonl`.
//! - [`InputObject`] is one input file, read and hashed; [`discover`] finds
//!   them under a path.
//! - [`IngestBatch`] parses objects ([`IngestBatch::add`]), sends bad input to
//!   the quarantine and writes one Parquet file per day on
//!   [`IngestBatch::commit`], returning an [`IngestSummary`].
//! - [`Lake::query`] runs read-only SQL with one table per [`Source`] and the
//!   `events` view over all of them; [`QueryResult::write`] renders rows.
//!
//! ```no_run
//! # async fn example() -> palisade_lake::Result<()> {
//! use palisade_lake::{discover, InputObject, Lake, QueryFormat, Source};
//!
//! let lake = Lake::new("/var/lib/palisade/lake");
//! let mut batch = lake.begin(Source::CloudTrail);
//! for path in discover(Source::CloudTrail, "bucket/AWSLogs".as_ref())? {
//!     batch.add(&InputObject::read(&path)?)?;
//! }
//! let summary = batch.commit()?;
//! println!("{} records, {} quarantined", summary.records, summary.quarantined);
//!
//! let result = lake
//!     .query("SELECT action, count(*) AS n FROM cloudtrail GROUP BY action ORDER BY n DESC")
//!     .await?;
//! result.write(QueryFormat::Table, &mut std::io::stdout())?;
//! # Ok(())
//! # }
//! ```

pub mod cloudtrail;
mod error;
mod ingest;
mod input;
pub mod json_lines;
pub mod k8s_audit;
mod lenient;
mod maintenance;
pub mod quarantine;
mod query;
pub mod schema;
pub mod syslog;

use std::path::{Path, PathBuf};

pub use error::{Error, Result};
pub use ingest::{Added, IngestBatch, IngestSummary, IngestedObject, ObjectOutcome, ObjectReport};
pub use input::{discover, reads_key, InputObject, MAX_DECOMPRESSED_SIZE};
pub use json_lines::JsonMapping;
pub use maintenance::{Compacted, Expired, COMPACTED_PART_BYTES};
pub use query::{parse_since, QueryFormat, QueryResult, TailFilter, EVENTS_VIEW};
pub use schema::{Event, Outcome, ParseSourceError, Source};

/// The directory of the lake inside palisade's home directory.
pub const LAKE_DIR_NAME: &str = "lake";

/// How the sources that need settings are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Which keys of application JSON lines hold which field.
    pub json: JsonMapping,
    /// The time RFC 3164 syslog years are inferred from; by default each
    /// file's modification time, else the time of the ingest.
    pub syslog_reference: Option<chrono::DateTime<chrono::Utc>>,
}

/// A lake on the local file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    /// The lake at `root` (created when first written to).
    pub fn new(root: impl Into<PathBuf>) -> Lake {
        Lake { root: root.into() }
    }

    /// The lake's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/source=<source>`: the directory of one source's table.
    pub fn source_dir(&self, source: Source) -> PathBuf {
        self.root.join(format!("source={}", source.name()))
    }

    /// `<root>/source=<source>/dt=<day>`.
    pub fn partition_dir(&self, source: Source, day: &str) -> PathBuf {
        self.source_dir(source).join(ingest::day_dir_name(day))
    }

    /// Starts a batch of objects of one source, parsed with the default
    /// [`ParseOptions`].
    pub fn begin(&self, source: Source) -> IngestBatch {
        IngestBatch::new(self.clone(), source, ParseOptions::default())
    }

    /// Starts a batch of objects of one source, parsed with `options`.
    pub fn begin_with(&self, source: Source, options: ParseOptions) -> IngestBatch {
        IngestBatch::new(self.clone(), source, options)
    }
}
