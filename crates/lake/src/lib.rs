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
mod prune;
pub mod quarantine;
mod query;
mod remote;
#[cfg(feature = "s3")]
pub mod s3;
pub mod schema;
pub mod syslog;

use std::path::{Path, PathBuf};

pub use error::{Error, Result};
pub use ingest::{Added, IngestBatch, IngestSummary, IngestedObject, ObjectOutcome, ObjectReport};
pub use input::{discover, reads_key, InputObject, MAX_DECOMPRESSED_SIZE};
pub use json_lines::JsonMapping;
pub use maintenance::{Compacted, Expired, COMPACTED_PART_BYTES};
pub use query::{parse_since, QueryFormat, QueryResult, TailFilter, EVENTS_VIEW};
pub use remote::LocalFiles;
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

/// A lake: a directory of the local file system, or a prefix of an object
/// store (`s3://bucket/prefix`) with the same layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lake {
    /// The directory, or for a lake on object storage its URL (`s3://bucket/prefix`),
    /// which is how its files are named in summaries.
    root: PathBuf,
    remote: Option<remote::Remote>,
}

impl Lake {
    /// The lake at `root` (created when first written to).
    pub fn new(root: impl Into<PathBuf>) -> Lake {
        Lake {
            root: root.into(),
            remote: None,
        }
    }

    /// The lake at `url` (`<scheme>://<bucket>[/<prefix>]`) in `store`.
    /// Parquet parts are written to a local spool file and uploaded whole
    /// on commit (an upload is atomic: readers never see half a file).
    pub fn on_object_store(
        url: &str,
        store: std::sync::Arc<dyn object_store::ObjectStore>,
    ) -> Result<Lake> {
        let remote = remote::Remote::new(url, store)?;
        Ok(Lake {
            root: PathBuf::from(remote.url_of("")),
            remote: Some(remote),
        })
    }

    /// The lake at `location`: `s3://bucket/prefix` (with the `s3` feature;
    /// credentials, region and `AWS_ENDPOINT_URL` from the AWS environment),
    /// otherwise a local directory.
    pub fn open(location: &str) -> Result<Lake> {
        let Some(rest) = location.strip_prefix("s3://") else {
            return Ok(Lake::new(location));
        };
        #[cfg(feature = "s3")]
        {
            let bucket = rest.split('/').next().unwrap_or_default();
            if bucket.is_empty() {
                return Err(Error::InvalidInput {
                    what: "lake location",
                    reason: format!("`{location}`: no bucket name after s3://"),
                });
            }
            let store = s3::S3Store::from_env(bucket).map_err(|source| Error::Read {
                path: location.into(),
                source,
            })?;
            Lake::on_object_store(location, std::sync::Arc::new(store))
        }
        #[cfg(not(feature = "s3"))]
        {
            let _ = rest;
            Err(Error::InvalidInput {
                what: "lake location",
                reason: format!("`{location}`: this build has no S3 support"),
            })
        }
    }

    /// The lake's directory (for a lake on object storage, its URL).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the lake is on object storage rather than a local directory.
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
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
