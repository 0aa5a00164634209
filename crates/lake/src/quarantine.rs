//! Where bad input goes: one JSON line per problem, never silently dropped.
//!
//! A batch's problems are written to
//! `<lake>/_quarantine/source=<source>/<batch>.jsonl`. The leading underscore
//! keeps the directory out of the tables (Hive, Athena, Spark and
//! DataFusion's listing all skip it). Each line is a [`QuarantineEntry`].

use serde::{Deserialize, Serialize};

/// The most of a bad record's text kept in the quarantine.
pub const MAX_RECORD_TEXT: usize = 64 * 1024;

/// The directory of the quarantine inside the lake.
pub const QUARANTINE_DIR: &str = "_quarantine";

/// Something wrong in one object, found while parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The record's index in the object (`Records[i]` for CloudTrail), or
    /// `None` when the problem is with the object as a whole.
    pub record_index: Option<u64>,
    /// Where in the (decompressed) content the problem starts.
    pub byte_offset: Option<u64>,
    pub reason: String,
    /// The bad record's text, cut at [`MAX_RECORD_TEXT`] bytes.
    pub record: Option<String>,
}

impl Problem {
    /// A problem with one record.
    pub(crate) fn record(index: u64, offset: u64, reason: String, text: &[u8]) -> Problem {
        Problem {
            record_index: Some(index),
            byte_offset: Some(offset),
            reason,
            record: Some(cut(text)),
        }
    }
}

/// One line of a quarantine file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    pub source: String,
    /// The object's key ([`crate::InputObject::key`]).
    pub object: String,
    /// The object's SHA-256, as in the manifest.
    pub sha256: String,
    pub record_index: Option<u64>,
    pub byte_offset: Option<u64>,
    pub reason: String,
    pub record: Option<String>,
}

/// `text` as UTF-8 (invalid bytes replaced), at most [`MAX_RECORD_TEXT`] bytes.
fn cut(text: &[u8]) -> String {
    let text = &text[..text.len().min(MAX_RECORD_TEXT)];
    String::from_utf8_lossy(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_records_are_cut() {
        let problem = Problem::record(3, 10, "bad".into(), &vec![b'a'; MAX_RECORD_TEXT + 10]);
        assert_eq!(problem.record.map(|r| r.len()), Some(MAX_RECORD_TEXT));
        assert_eq!(problem.record_index, Some(3));
    }
}
