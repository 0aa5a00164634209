use std::path::PathBuf;

/// Everything that can go wrong while loading rules or running detections.
///
/// A rule that uses a feature palisade does not support is not an error of
/// the load as a whole: it is reported as a [`crate::RuleProblem`] next to the
/// rules that loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A configuration file (field mapping, placeholders) is not valid.
    #[error("{}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },

    /// A Parquet file of the lake could not be read.
    #[error("cannot read the Parquet file {}: {reason}", path.display())]
    Parquet { path: PathBuf, reason: String },

    /// The lake could not be queried.
    #[error(transparent)]
    Lake(#[from] palisade_lake::Error),

    /// A SQL detection failed.
    #[error("SQL detection {rule}: {reason}")]
    SqlDetection { rule: String, reason: String },

    /// An argument the caller passed is not acceptable.
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },
}

/// Result with the detection engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
