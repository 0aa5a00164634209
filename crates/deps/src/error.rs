use thiserror::Error;

/// What stops a deps operation on one input. A scan reports these per file
/// (as `ScanError`s) and goes on with the rest.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file that is not what its name says, or is damaged.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: String,
        line: Option<u32>,
        message: String,
    },
    /// A format version palisade does not read (e.g. a future lockfileVersion).
    #[error("{path}: unsupported {what}")]
    Unsupported { path: String, what: String },
    /// An input over a size limit (a file, an archive entry, a decompressed stream).
    #[error("{path}: {what} is larger than the {limit}-byte limit")]
    TooLarge {
        path: String,
        what: String,
        limit: u64,
    },
    #[error("{path}: {message}")]
    Archive { path: String, message: String },
}

impl Error {
    pub(crate) fn parse(path: &str, message: impl std::fmt::Display) -> Self {
        Error::Parse {
            path: path.to_string(),
            line: None,
            message: message.to_string(),
        }
    }

    pub(crate) fn parse_at(path: &str, line: usize, message: impl std::fmt::Display) -> Self {
        Error::Parse {
            path: path.to_string(),
            line: u32::try_from(line).ok(),
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: &str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
