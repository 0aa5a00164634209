//! Severity of an advisory: the CVSS base score computed from the record's
//! vector (v4 preferred over v3.x), else the label the database gives
//! (GitHub's `database_specific.severity`, Debian's urgency ...).

use std::str::FromStr;

use palisade_core::Severity;

/// A CVSS base score and the vector it was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct CvssScore {
    pub score: f64,
    pub vector: String,
}

/// Computes the base score of a CVSS v3.0, v3.1 or v4.0 vector.
pub fn base_score(vector: &str) -> Option<f64> {
    let vector = vector.trim();
    if vector.starts_with("CVSS:4.0/") {
        cvss::v4::Vector::from_str(vector)
            .ok()
            .map(|v| v.score().value())
    } else if vector.starts_with("CVSS:3.") {
        cvss::v3::Vector::from_str(vector)
            .ok()
            .map(|v| v.score().value())
    } else {
        None
    }
}

/// The qualitative rating of a CVSS score (v3.1 and v4.0 specification).
pub fn from_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// A database's own severity label: `CRITICAL`, `HIGH`, `MODERATE`, `LOW`,
/// Debian's `unimportant`, `not yet assigned` ...
pub fn from_label(label: &str) -> Option<Severity> {
    let label = label.trim().to_ascii_lowercase();
    match label.as_str() {
        "unimportant" | "negligible" => Some(Severity::Info),
        "important" => Some(Severity::High),
        _ => label.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_v3_base_scores_match_nvd() {
        // CVE-2021-44228 (Log4Shell): 10.0; CVE-2022-24999 (qs): 7.5.
        assert_eq!(
            base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            Some(10.0)
        );
        assert_eq!(
            base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
            Some(7.5)
        );
        assert_eq!(
            base_score("CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"),
            Some(3.1)
        );
    }

    #[test]
    fn cvss_v4_base_scores_match_the_first_calculator() {
        // FIRST's CVSS v4.0 calculator: all high, network, no requirements: 10.0.
        assert_eq!(
            base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"),
            Some(10.0)
        );
        assert_eq!(
            base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
    }

    #[test]
    fn bad_vectors_give_no_score_and_labels_map() {
        assert_eq!(base_score("CVSS:3.1/AV:X"), None);
        assert_eq!(base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
        assert_eq!(from_score(9.8), Severity::Critical);
        assert_eq!(from_score(7.0), Severity::High);
        assert_eq!(from_score(6.9), Severity::Medium);
        assert_eq!(from_score(0.1), Severity::Low);
        assert_eq!(from_label("MODERATE"), Some(Severity::Medium));
        assert_eq!(from_label("unimportant"), Some(Severity::Info));
        assert_eq!(from_label("not yet assigned"), None);
    }
}
