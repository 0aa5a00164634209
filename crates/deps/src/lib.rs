//! Dependency vulnerabilities: which packages a project or image ships, and
//! which published advisories affect them.
//!
//! - [`lockfile`] finds lockfiles and manifests under a path and parses each
//!   into [`Package`]s: an [`inventory`] of ecosystem, name, version, purl,
//!   direct or transitive, and the file it came from.
//! - [`version`] orders versions the way each ecosystem does (semver, PEP 440,
//!   RubyGems, Maven, dpkg, apk, RPM).
//! - [`osv`] reads OSV advisories (a directory of JSON records or an OSV
//!   `all.zip` export) and decides, with OSV's range semantics, whether a
//!   record affects a package version; [`matching`] turns the matches into
//!   [`palisade_core::Finding`]s, one per package and advisory (aliases
//!   merged), with a CVSS-based severity.
//! - [`image`] reads a container image (`docker save` tarball or OCI
//!   layout), applies its layers and inventories OS packages (dpkg, apk,
//!   [`rpmdb`]) and the lockfiles inside it.
//! - [`sbom`] writes and reads CycloneDX JSON.
//!
//! This crate reads files; it does not keep the advisory database (the
//! store does) and knows nothing of report formats.

pub mod compact;
mod error;
pub mod exploitation;
pub mod image;
pub mod inventory;
pub mod lockfile;
pub mod matching;
pub mod osv;
pub mod rpmdb;
pub mod sbom;
pub mod severity;
pub mod version;

pub use error::{Error, Result};
pub use inventory::{Ecosystem, Package};
pub use lockfile::{inventory_path, Inventory, LockfileKind, WalkOptions};
