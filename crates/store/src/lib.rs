//! Persistence of scan runs and the finding lifecycle.
//!
//! This crate owns palisade's database: the schema and its migrations, the
//! record of every scan run, and the lifecycle of every finding across runs
//! (open, seen again, resolved, reopened, suppressed), the SLA due date that
//! follows from its severity, and the history of its status changes.
//!
//! It must not scan anything, know how a finding was produced, or render
//! anything for people: engines hand it a [`palisade_core::ScanOutput`], and the
//! CLI and web app present what it returns.
//!
//! # Storage
//!
//! SQLite by default (one file, WAL journal, 30 s busy timeout, foreign keys
//! on), opened with [`Store::open`] from a path or a `sqlite:` URL; the
//! default file is [`default_database_path`]. Every write runs in one
//! `BEGIN IMMEDIATE` transaction, so several scans writing to the same file at
//! once (from one process or several) queue instead of failing or losing
//! updates. PostgreSQL URLs are recognised and refused with
//! [`Error::PostgresNotSupported`] for now.
//!
//! # Lifecycle
//!
//! A finding is identified by its engine, its scope and its fingerprint. A
//! fingerprint is the rule plus the resource identity (kind, id, path relative
//! to the scan root) and deliberately leaves out where the scan ran, so the
//! same rule on the same file path in two scanned repositories has the same
//! fingerprint; in the store these are two findings, each with its own
//! lifecycle, SLA, suppression and history. A finding never moves from one
//! engine or scope to another. With [`Store::record_scan`]:
//! - a fingerprint seen for the first time in its engine and scope is
//!   [`Status::Open`] (counted as new);
//! - seen again, its `last_seen` and stored [`palisade_core::Finding`] are refreshed;
//! - a finding of the same engine and scope that a *complete* run did not see
//!   becomes [`Status::Resolved`]; an incomplete run resolves nothing;
//! - a resolved finding seen again becomes [`Status::Reopened`] (counted), with a
//!   new SLA clock from that moment;
//! - [`Store::suppress`] makes it [`Status::Suppressed`] (reason, author,
//!   optional expiry) and [`Store::unsuppress`] brings it back to open (or
//!   reopened, if it had been reopened before). A manual suppression that
//!   expires reopens the finding; expiries are applied lazily at the start of
//!   every run and every read;
//! - a finding carrying an inline suppression ([`palisade_core::InlineSuppression`])
//!   that is active today is stored as suppressed with author `inline:<source>`;
//!   when the comment disappears or expires it goes back to open. A manual
//!   suppression takes precedence over an inline one;
//! - suppressed findings that vanish from a complete run are resolved too; the
//!   suppression record is kept and applies again if the finding comes back
//!   while it is still valid.
//!
//! Time is always passed in (`now`), so the lifecycle is deterministic in tests.
//!
//! # Lookups
//!
//! [`Store::get_finding`], [`Store::finding_history`], [`Store::suppress`] and
//! [`Store::unsuppress`] take a fingerprint or a unique prefix of one (upper-case
//! hex is accepted), across all engines and scopes. When it matches more than
//! one finding they fail with [`Error::Ambiguous`], listing up to five
//! candidates as `<fingerprint> (<scope>)`. This includes a full fingerprint
//! stored in several scopes: more characters cannot help then, and the error
//! message says so.

mod accounts;
mod alerts;
mod api_tokens;
mod assets;
mod audit;
mod console;
mod error;
mod lake_manifest;
mod mfa;
mod model;
mod settings;
mod sso;
mod sso_settings;
mod store;
mod vulndb;
mod webauthn;

use std::ffi::OsString;
use std::path::PathBuf;

pub use accounts::{
    validate_username, EnrolmentToken, NewSession, ParseRoleError, Role, Session, ThrottleState,
    User,
};
pub use alerts::{
    AlertChange, AlertFilter, NewAlert, NewDelivery, StoredAlert, StoredDelivery,
    MAX_ALERT_EVENT_IDS,
};
pub use api_tokens::{
    validate_new_token, ApiScope, ApiToken, NewApiToken, MAX_TOKEN_LIFETIME_DAYS,
};
pub use assets::{AssetChange, AssetCollection, AssetDiff, AssetFilter, NewAsset, StoredAsset};
pub use audit::{AuditFilter, AuditRecord, AuditVerification, NewAuditEvent, AUDIT_GENESIS_HASH};
pub use console::{
    Dashboard, FindingQuery, FindingSort, FindingSummary, FindingsPage, StatusFilter, COUNT_CAP,
};
pub use error::{Error, Result};
pub use lake_manifest::{ExpiredLakePartition, LakeObject, NewLakeObject};
pub use mfa::{MfaPending, PendingPurpose, StoredDataKey, StoredTotp};
pub use model::{
    FindingEvent, FindingFilter, NewRun, ParseStatusError, RunCounts, RunSummary, SlaPolicy,
    Status, StoredFinding, Suppression, INLINE_AUTHOR_PREFIX,
};
pub use sso::SsoFlow;
pub use sso_settings::{SsoSettings, StoredSsoSettings};
pub use store::Store;
pub use vulndb::{AdvisoryCandidate, AdvisoryRow, ImportCounts, VulnDbStatus};
pub use webauthn::{CeremonyKind, StoredWebauthnCredential, WebauthnCeremony};

/// File name of the database inside the palisade home directory.
pub const DATABASE_FILE_NAME: &str = "palisade.db";

/// Palisade's data directory: `$PALISADE_HOME` if set, otherwise
/// `$HOME/.local/share/palisade`, otherwise `.palisade` in the current directory.
pub fn default_home_dir() -> PathBuf {
    home_dir_from(std::env::var_os("PALISADE_HOME"), std::env::var_os("HOME"))
}

/// The default database file: `palisade.db` in [`default_home_dir`].
pub fn default_database_path() -> PathBuf {
    default_home_dir().join(DATABASE_FILE_NAME)
}

fn home_dir_from(palisade_home: Option<OsString>, home: Option<OsString>) -> PathBuf {
    let non_empty = |value: Option<OsString>| value.filter(|v| !v.is_empty());
    match (non_empty(palisade_home), non_empty(home)) {
        (Some(palisade_home), _) => PathBuf::from(palisade_home),
        (None, Some(home)) => PathBuf::from(home).join(".local/share/palisade"),
        (None, None) => PathBuf::from(".palisade"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_dir_prefers_palisade_home_then_home() {
        assert_eq!(
            home_dir_from(Some("/srv/palisade".into()), Some("/home/a".into())),
            PathBuf::from("/srv/palisade")
        );
        assert_eq!(
            home_dir_from(Some("".into()), Some("/home/a".into())),
            PathBuf::from("/home/a/.local/share/palisade")
        );
        assert_eq!(
            home_dir_from(None, Some("/home/a".into())),
            PathBuf::from("/home/a/.local/share/palisade")
        );
        assert_eq!(home_dir_from(None, None), PathBuf::from(".palisade"));
    }

    #[test]
    fn default_database_path_ends_with_the_file_name() {
        assert!(default_database_path().ends_with(DATABASE_FILE_NAME));
    }
}
