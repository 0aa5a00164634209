use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `postgres://` URL was given; only SQLite is built in for now.
    #[error("PostgreSQL support is not built in yet; use a SQLite file path or a sqlite:// URL")]
    PostgresNotSupported,

    /// A URL with a scheme the store does not know.
    #[error(
        "unsupported database URL scheme `{scheme}:`; use a SQLite file path or a sqlite:// URL"
    )]
    UnsupportedScheme { scheme: String },

    /// The directory that should hold the database file could not be created.
    #[error("cannot create the database directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// No finding has this fingerprint (or fingerprint prefix).
    #[error("no finding matches `{0}`")]
    NotFound(String),

    /// A fingerprint prefix matches more than one finding.
    #[error(
        "`{prefix}` matches several findings ({}); give more characters of the fingerprint",
        candidates.join(", ")
    )]
    Ambiguous {
        prefix: String,
        /// Up to a handful of the matching findings, as `fingerprint (engine scope)`.
        candidates: Vec<String>,
    },

    /// `unsuppress` on a finding that carries no suppression.
    #[error("finding {0} is not suppressed")]
    NotSuppressed(String),

    /// An argument the caller passed is not acceptable.
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },

    /// A stored value could not be read back (hand-edited or corrupt database).
    #[error("corrupt value in the database ({what}): {reason}")]
    Corrupt { what: String, reason: String },

    /// Serialising a finding or scan errors to JSON failed.
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl ToString) -> Self {
        Error::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            reason: reason.into(),
        }
    }
}
