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

    /// A fingerprint or prefix matches more than one finding: several
    /// fingerprints start with the prefix, or the same fingerprint was found
    /// in several scopes (a finding is identified by engine, scope and
    /// fingerprint).
    #[error("{}", ambiguous_message(prefix, candidates))]
    Ambiguous {
        prefix: String,
        /// Up to a handful of the matching findings, as `<fingerprint> (<scope>)`
        /// (`<fingerprint> (<scope>, engine <engine>)` when two of them differ
        /// only by engine), ordered by fingerprint, then scope.
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

    /// Something with this name already exists (a username taken).
    #[error("{0}")]
    Conflict(String),

    /// The audit log's hash chain is broken at this record.
    #[error("audit log tampered with at record {id}: {reason}")]
    AuditChainBroken { id: i64, reason: String },

    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// No alert has this id.
    #[error("no alert with id {0}")]
    AlertNotFound(i64),

    /// No API token has this id (or not one the caller owns).
    #[error("no API token with id {0}")]
    TokenNotFound(i64),
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

/// The text of [`Error::Ambiguous`]: more characters help only when the
/// candidates have different fingerprints.
fn ambiguous_message(prefix: &str, candidates: &[String]) -> String {
    let fingerprint = |candidate: &str| candidate.split(' ').next().unwrap_or("").to_string();
    let listed = candidates.join(", ");
    let one_fingerprint = candidates
        .iter()
        .all(|c| fingerprint(c) == fingerprint(&candidates[0]));
    if one_fingerprint && !candidates.is_empty() && fingerprint(&candidates[0]) == prefix {
        format!(
            "`{prefix}` is the fingerprint of a finding in several scopes ({listed}); \
             a fingerprint alone cannot tell them apart"
        )
    } else {
        format!(
            "`{prefix}` matches several findings ({listed}); give more characters of the \
             fingerprint (the same fingerprint in several scopes stays ambiguous)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_message_says_whether_more_characters_help() {
        let prefix_error = Error::Ambiguous {
            prefix: "ab".into(),
            candidates: vec!["ab01 (/a)".into(), "ab02 (/a)".into()],
        };
        let text = prefix_error.to_string();
        assert!(text.contains("ab01 (/a), ab02 (/a)"), "{text}");
        assert!(text.contains("give more characters"), "{text}");

        let scope_error = Error::Ambiguous {
            prefix: "ab01".into(),
            candidates: vec!["ab01 (/a)".into(), "ab01 (/b)".into()],
        };
        let text = scope_error.to_string();
        assert!(text.contains("ab01 (/a), ab01 (/b)"), "{text}");
        assert!(text.contains("several scopes"), "{text}");
        assert!(!text.contains("give more characters"), "{text}");
    }
}
