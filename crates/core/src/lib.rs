//! Domain types shared by every palisade engine.
//!
//! This crate owns the vocabulary of palisade: a [`Rule`] describes a check
//! (its metadata, whatever engine runs it), a [`Finding`] is one occurrence of
//! a rule on a [`Resource`], optionally at a [`Location`] in a file, and a
//! [`ScanOutput`] is what an engine returns: findings plus the inputs it could
//! not read ([`ScanError`]).
//!
//! It does no I/O. Engines build findings, the store keeps them, the reports
//! present them; none of them redefine these types.
//!
//! The [`Fingerprint`] of a finding is derived from the rule and the identity
//! of the resource (never from line numbers or file content), so the same
//! problem is recognised as the same finding across runs even when the file
//! around it moves.

mod finding;
pub mod iam_policy;
mod rule;
mod severity;

pub use finding::{
    Category, Finding, FindingDetails, Fingerprint, InlineSuppression, Location, Resource,
    ScanError, ScanOutput, SecretDetails, Verification, VulnerabilityDetails,
};
pub use rule::{ComplianceRef, PeerId, Rule};
pub use severity::{ParseSeverityError, Severity};
