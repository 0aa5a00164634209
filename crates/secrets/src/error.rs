use thiserror::Error;

/// What can stop a secrets scan before it starts. Problems with one file or
/// one object during a scan are reported as `ScanError`s instead.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Config {
        origin: String,
        message: String,
        line: Option<u32>,
    },
    #[error("{origin}: rule `{rule}`: {message}")]
    Rule {
        origin: String,
        rule: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable git repository: {message}")]
    Repository { path: String, message: String },
    #[error("{path}: {message}")]
    Git { path: String, message: String },
}
