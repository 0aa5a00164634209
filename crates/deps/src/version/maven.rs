//! Maven's `ComparableVersion` (maven-artifact 3.8): versions are lists of
//! integers and qualifiers, split at `.`, at `-` (which opens a sub-list) and
//! at digit/letter transitions; qualifiers order as
//! `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp`,
//! then unknown qualifiers alphabetically; trailing null items are dropped.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
enum Item {
    Int(String),
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: usize = 5;

fn string_item(value: &str, followed_by_digit: bool) -> Item {
    let value = if followed_by_digit && value.len() == 1 {
        match value {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        }
    } else {
        value
    };
    let value = match value {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(value.to_string())
}

/// The sort key of a qualifier: its index among the known ones, or after
/// all of them (then alphabetical) for an unknown one.
fn qualifier_key(value: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|q| *q == value) {
        Some(index) => (index, ""),
        None => (QUALIFIERS.len(), value),
    }
}

fn parse_item(is_digit: bool, text: &str) -> Item {
    if is_digit {
        let trimmed = text.trim_start_matches('0');
        Item::Int(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
    } else {
        string_item(text, false)
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Int(n) => n == "0",
        Item::Str(s) => s.is_empty(),
        Item::List(items) => items.is_empty(),
    }
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if let Item::List(inner) = &mut list[i] {
            normalize(inner);
        }
        if is_null(&list[i]) {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// Parses into nested lists; `path` is the chain of open sub-lists.
fn parse(version: &str) -> Vec<Item> {
    let version = version.trim().to_ascii_lowercase();
    let bytes = version.as_bytes();
    // The stack of open lists; each is appended to its parent when closed.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    let push = |stack: &mut Vec<Vec<Item>>, item: Item| {
        if let Some(top) = stack.last_mut() {
            top.push(item);
        }
    };
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'.' {
            let item = if i == start {
                Item::Int("0".into())
            } else {
                parse_item(is_digit, &version[start..i])
            };
            push(&mut stack, item);
            start = i + 1;
        } else if c == b'-' {
            let item = if i == start {
                Item::Int("0".into())
            } else {
                parse_item(is_digit, &version[start..i])
            };
            push(&mut stack, item);
            start = i + 1;
            stack.push(Vec::new());
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                push(&mut stack, string_item(&version[start..i], true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                push(&mut stack, parse_item(true, &version[start..i]));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if version.len() > start {
        push(&mut stack, parse_item(is_digit, &version[start..]));
    }
    // Close the open lists innermost first, normalising each as Maven does.
    while stack.len() > 1 {
        let mut inner = stack.pop().unwrap_or_default();
        normalize(&mut inner);
        push(&mut stack, Item::List(inner));
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    root
}

fn compare_item(a: &Item, b: Option<&Item>) -> Ordering {
    match (a, b) {
        (Item::Int(n), None) => {
            if n == "0" {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        (Item::Int(x), Some(Item::Int(y))) => super::compare_digits(x, y),
        (Item::Int(_), Some(_)) => Ordering::Greater,
        (Item::Str(s), None) => qualifier_key(s).cmp(&(RELEASE_INDEX, "")),
        (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
        (Item::Str(x), Some(Item::Str(y))) => qualifier_key(x).cmp(&qualifier_key(y)),
        (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
        (Item::List(items), None) => match items.first() {
            None => Ordering::Equal,
            Some(first) => compare_item(first, None),
        },
        (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
        (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
        (Item::List(x), Some(Item::List(y))) => compare_lists(x, y),
    }
}

fn compare_lists(x: &[Item], y: &[Item]) -> Ordering {
    for i in 0..x.len().max(y.len()) {
        let ordering = match (x.get(i), y.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => compare_item(r, None).reverse(),
            (Some(l), r) => compare_item(l, r),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Orders two Maven versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    compare_lists(&parse(a), &parse(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::assert_ascending;

    #[test]
    fn comparable_version_test_qualifiers() {
        // maven-artifact ComparableVersionTest.VERSIONS_QUALIFIER.
        assert_ascending(
            compare,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
    }

    #[test]
    fn comparable_version_test_numbers() {
        // maven-artifact ComparableVersionTest.VERSIONS_NUMBER (3.8).
        assert_ascending(
            compare,
            &[
                "2.0", "2-1", "2.0.a", "2.0.0.a", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b",
                "2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11",
                "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
    }

    #[test]
    fn equivalent_spellings() {
        // ComparableVersionTest.testVersionsEqual.
        for (a, b) in [
            ("1", "1.0.0"),
            ("1", "1-0"),
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1alpha", "1-alpha"),
            ("1a1", "1-alpha-1"),
            ("1ga", "1"),
            ("1final", "1"),
            ("1cr", "1rc"),
            ("1.0.RELEASE", "1"),
            ("1-GA", "1"),
        ] {
            assert_eq!(compare(a, b), Ordering::Equal, "{a} == {b}");
        }
    }
}
