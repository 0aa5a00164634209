//! Infrastructure-as-code and Kubernetes misconfiguration scanning.
//!
//! Brief overview:
//! - parsers turn files into [`IacResource`]s with JSON attributes of one
//!   documented shape per framework: [`terraform`] (HCL evaluated with
//!   variables, locals, modules, `count`/`for_each`; and plan JSON),
//!   [`cloudformation`] (YAML/JSON with intrinsics), [`kubernetes`] (manifests);
//! - [`checks`] holds the built-in rules, each registered once with its
//!   metadata; custom Rego policies ([`rego`]) produce the same findings;
//! - [`engine`] walks the paths, parses in parallel, dispatches each resource
//!   to the checks for its kind in one pass, applies inline suppressions
//!   ([`suppress`]) and returns a [`palisade_core::ScanOutput`].
//!
//! This crate reads files and returns values. It knows nothing of the store,
//! reports or the command line.

pub mod checks;
pub mod cloudformation;
pub mod detect;
pub mod engine;
pub mod kubernetes;
pub mod model;
pub mod rego;
pub mod suppress;
pub mod terraform;

pub use engine::{builtin_rules, scan_paths, ScanOptions};
pub use model::{Framework, IacResource, ParsedSet};
