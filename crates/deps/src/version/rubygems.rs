//! RubyGems' `Gem::Version#<=>` (`lib/rubygems/version.rb`): segments are
//! runs of digits or letters; a letter segment marks a pre-release and sorts
//! before any number; trailing zeros of the release and pre-release parts
//! are ignored (`canonical_segments`); `-` reads as `.pre.`.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Number(String),
    Text(String),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Number(n) if n.trim_start_matches('0').is_empty())
    }
}

fn segments(version: &str) -> Vec<Segment> {
    let version = version.trim().replace('-', ".pre.");
    let mut segments = Vec::new();
    let mut chars = version.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_ascii_digit() || c.is_ascii_alphabetic() {
            let digit = c.is_ascii_digit();
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if (digit && c.is_ascii_digit()) || (!digit && c.is_ascii_alphabetic()) {
                    end = i + c.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let text = version[start..end].to_string();
            segments.push(if digit {
                Segment::Number(text)
            } else {
                Segment::Text(text)
            });
        } else {
            chars.next();
        }
    }
    canonical(segments)
}

fn canonical(segments: Vec<Segment>) -> Vec<Segment> {
    let split = segments
        .iter()
        .position(|s| matches!(s, Segment::Text(_)))
        .unwrap_or(segments.len());
    let (release, pre) = segments.split_at(split);
    let trim = |part: &[Segment]| {
        let mut part = part.to_vec();
        while part.last().is_some_and(Segment::is_zero) {
            part.pop();
        }
        part
    };
    let mut out = trim(release);
    out.extend(trim(pre));
    out
}

/// Orders two RubyGems versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let a = segments(a);
    let b = segments(b);
    let zero = Segment::Number("0".into());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).unwrap_or(&zero);
        let y = b.get(i).unwrap_or(&zero);
        let ordering = match (x, y) {
            (Segment::Number(x), Segment::Number(y)) => super::compare_digits(x, y),
            (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
            (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
            (Segment::Text(x), Segment::Text(y)) => x.cmp(y),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::assert_ascending;

    #[test]
    fn gem_version_documented_ordering() {
        // Gem::Version docs: "1.0.a.2 < 1.0.b1 < 1.0 < 1.0.1 ..." and test_version.rb.
        assert_ascending(
            compare,
            &[
                "1.0.a.2",
                "1.0.b1",
                "1.0.rc1",
                "1.0",
                "1.0.1",
                "1.9.3",
                "1.10",
                "2.0.0.pre",
                "2.0.0",
            ],
        );
        assert_ascending(compare, &["1.0.0-1", "1.0.0"]);
    }

    #[test]
    fn trailing_zeros_do_not_count() {
        // test_version.rb: assert_equal v("1.0"), v("1"), v("1.0.0.a") <=> v("1.a") == 0.
        assert_eq!(compare("1.0", "1"), Ordering::Equal);
        assert_eq!(compare("1.0.0.a", "1.a"), Ordering::Equal);
        assert_eq!(compare("1.8.2.a10", "1.8.2.a9"), Ordering::Greater);
        assert_eq!(compare("0.beta.1", "0.0.beta.1"), Ordering::Equal);
    }
}
