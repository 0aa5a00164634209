use std::path::PathBuf;

/// Everything that can go wrong in the lake.
///
/// Bad *content* (a truncated gzip, invalid JSON, a record without its
/// required fields) is not an error: it goes to the quarantine and is counted
/// in the [`crate::IngestSummary`]. These errors are about the lake itself
/// (a file that cannot be read or written) and about queries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file or directory of the lake could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Encoding a Parquet file failed.
    #[error("cannot write the Parquet file {}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },

    /// Building an Arrow batch or rendering query results failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),

    /// A query could not be planned or run (a syntax error, an unknown
    /// column, a statement that would write).
    #[error("query failed: {0}")]
    Query(#[from] datafusion::error::DataFusionError),

    /// An argument the caller passed is not acceptable.
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },

    /// An object of a lake on object storage could not be listed, read,
    /// written or deleted.
    #[error("object storage: {url}: {source}")]
    ObjectStore {
        url: String,
        #[source]
        source: object_store::Error,
    },
}

/// Result with the lake's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
