//! Detections over the log lake: Sigma rules, Sigma correlations and
//! scheduled SQL detections, turned into alerts and sent to webhooks.
//!
//! This crate owns the Sigma evaluator (rule loading, every modifier and
//! condition form palisade supports, compiled once per rule), the field
//! mapping from Sigma's field names to the lake's columns, the embedded
//! detection packs, correlation over matches, SQL detections run through
//! the lake's DataFusion session, and webhook delivery. It reads the lake's
//! Parquet files but never writes the lake, and it does not touch the
//! database: the CLI stores alerts and findings through `palisade-store`.
//!
//! # Overview
//!
//! - [`Loader`] reads rule files (or the [`packs`]) and [`Loader::build`]s a
//!   [`RuleSet`]; rules it cannot run are [`RuleSet::problems`], each with
//!   the file and the reason.
//! - [`RuleSet::scan_files`] runs the Sigma rules over lake Parquet files
//!   (row groups in parallel) and returns [`Hit`]s;
//!   [`RuleSet::correlate`] runs the correlations over the hits and
//!   [`RuleSet::run_sql`] the SQL detections over a time range.
//! - [`build_alerts`] groups everything into [`Alert`]s; [`webhook`] sends them.
//!
//! ```no_run
//! # fn example() -> palisade_detect::Result<()> {
//! use palisade_detect::{FieldMapping, Loader};
//!
//! let mut loader = Loader::new(FieldMapping::default());
//! loader.add_builtin();
//! loader.add_path("rules/".as_ref())?;
//! let rules = loader.build();
//! for problem in rules.problems() {
//!     eprintln!("not loaded: {problem}");
//! }
//! # Ok(())
//! # }
//! ```

mod alert;
mod correlation;
mod engine;
mod error;
pub mod event;
pub mod mapping;
pub mod packs;
pub mod sigma;
mod sql;
pub mod webhook;

pub use alert::{build_alerts, Alert};
pub use correlation::{parse_timespan, CorrelationMatch, MAX_EVENT_IDS};
pub use engine::{Hit, Loader, RuleInfo, RuleKind, RuleProblem, RuleSet, ScanResult};
pub use error::{Error, Result};
pub use mapping::{FieldMapping, LogSource};
pub use sql::SqlMatch;
