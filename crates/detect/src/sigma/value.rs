//! Sigma values and field modifiers, compiled to [`Matcher`]s.
//!
//! A key `field|mod1|mod2` is split into the field and its modifiers.
//! Transformation modifiers (`base64`, `base64offset`, `windash`, `expand`)
//! turn each value into one or more strings, in the order given; the type
//! modifiers (`contains`, `startswith`, `endswith`, `re`, `cidr`, `gt` ...)
//! decide how the strings are compared; `all`, `neq` and `cased` change how
//! values combine and compare.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use base64::Engine as _;
use regex::RegexBuilder;
use serde_norway::Value;

use super::matcher::{Cidr, Combine, Compare, Matcher};

/// Values of `%placeholder%`s for the `expand` modifier.
pub type Placeholders = HashMap<String, Vec<String>>;

/// How the strings of a value are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Contains,
    StartsWith,
    EndsWith,
    Regex {
        insensitive: bool,
        multiline: bool,
        dot_all: bool,
    },
    Cidr,
    Compare(Compare),
    FieldRef,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    Base64,
    Base64Offset,
    Windash,
    Expand,
}

/// The modifiers of one key.
#[derive(Debug, Clone)]
pub struct Modifiers {
    pub kind: Kind,
    pub combine: Combine,
    pub cased: bool,
    transforms: Vec<Transform>,
}

/// Parses the modifiers after a field name (`["contains", "all"]`).
pub fn parse_modifiers(names: &[&str]) -> Result<Modifiers, String> {
    let mut modifiers = Modifiers {
        kind: Kind::Plain,
        combine: Combine::Any,
        cased: false,
        transforms: Vec::new(),
    };
    let set_kind = |modifiers: &mut Modifiers, kind: Kind, name: &str| {
        if modifiers.kind != Kind::Plain {
            return Err(format!(
                "modifier `{name}` cannot follow another comparison modifier"
            ));
        }
        modifiers.kind = kind;
        Ok(())
    };
    for name in names {
        match name.to_ascii_lowercase().as_str() {
            "contains" => set_kind(&mut modifiers, Kind::Contains, name)?,
            "startswith" => set_kind(&mut modifiers, Kind::StartsWith, name)?,
            "endswith" => set_kind(&mut modifiers, Kind::EndsWith, name)?,
            "re" => set_kind(
                &mut modifiers,
                Kind::Regex {
                    insensitive: false,
                    multiline: false,
                    dot_all: false,
                },
                name,
            )?,
            flag @ ("i" | "m" | "s") => match &mut modifiers.kind {
                Kind::Regex {
                    insensitive,
                    multiline,
                    dot_all,
                } => match flag {
                    "i" => *insensitive = true,
                    "m" => *multiline = true,
                    _ => *dot_all = true,
                },
                _ => return Err(format!("modifier `{name}` only applies after `re`")),
            },
            "cidr" => set_kind(&mut modifiers, Kind::Cidr, name)?,
            "gt" => set_kind(&mut modifiers, Kind::Compare(Compare::Gt), name)?,
            "gte" => set_kind(&mut modifiers, Kind::Compare(Compare::Gte), name)?,
            "lt" => set_kind(&mut modifiers, Kind::Compare(Compare::Lt), name)?,
            "lte" => set_kind(&mut modifiers, Kind::Compare(Compare::Lte), name)?,
            "fieldref" => set_kind(&mut modifiers, Kind::FieldRef, name)?,
            "exists" => set_kind(&mut modifiers, Kind::Exists, name)?,
            "all" => modifiers.combine = Combine::All,
            "neq" => modifiers.combine = Combine::NoneOf,
            "cased" => modifiers.cased = true,
            "base64" => modifiers.transforms.push(Transform::Base64),
            "base64offset" => modifiers.transforms.push(Transform::Base64Offset),
            "windash" => modifiers.transforms.push(Transform::Windash),
            "expand" => modifiers.transforms.push(Transform::Expand),
            "utf16" | "utf16le" | "utf16be" | "wide" => {
                return Err(format!(
                    "modifier `{name}` (UTF-16 encoding of Windows command lines) is not supported"
                ))
            }
            "minute" | "hour" | "day" | "week" | "month" | "year" => {
                return Err(format!("time modifier `{name}` is not supported"))
            }
            other => return Err(format!("unknown modifier `{other}`")),
        }
    }
    if modifiers.combine == Combine::All && modifiers.kind == Kind::Exists {
        return Err("modifier `all` cannot be combined with `exists`".into());
    }
    Ok(modifiers)
}

/// A string produced from a value: `literal` strings (from an encoding)
/// have no wildcards.
struct Text {
    text: String,
    literal: bool,
}

/// One piece of a Sigma string: wildcards `*` and `?`, escaped with `\`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    Any,
    One,
}

fn tokens(text: &str, literal: bool) -> Vec<Token> {
    if literal {
        return text.chars().map(Token::Literal).collect();
    }
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push(Token::Literal(next));
                }
                _ => out.push(Token::Literal('\\')),
            },
            '*' => out.push(Token::Any),
            '?' => out.push(Token::One),
            c => out.push(Token::Literal(c)),
        }
    }
    out
}

/// A literal needle for a contains test, merged into one automaton later.
struct Needle {
    text: String,
    cased: bool,
}

/// The matchers of a list of YAML values under one key.
pub fn compile_values(
    values: &[Value],
    modifiers: &Modifiers,
    placeholders: &Placeholders,
    keyword: bool,
) -> Result<Vec<Matcher>, String> {
    let mut matchers = Vec::new();
    let mut needles = Vec::new();
    for value in values {
        compile_value(
            value,
            modifiers,
            placeholders,
            keyword,
            &mut matchers,
            &mut needles,
        )?;
    }
    // Literal contains needles: one automaton for every needle of the list
    // (any of them) or one per needle (all of them).
    if modifiers.combine == Combine::All {
        for needle in needles {
            matchers.push(Matcher::Contains(automaton(&[needle.text], !needle.cased)?));
        }
    } else {
        for cased in [false, true] {
            let texts: Vec<String> = needles
                .iter()
                .filter(|n| n.cased == cased)
                .map(|n| n.text.clone())
                .collect();
            if !texts.is_empty() {
                matchers.push(Matcher::Contains(automaton(&texts, !cased)?));
            }
        }
    }
    Ok(matchers)
}

fn automaton(needles: &[String], insensitive: bool) -> Result<AhoCorasick, String> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(insensitive)
        .build(needles)
        .map_err(|e| format!("cannot build the contains matcher: {e}"))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compile_value(
    value: &Value,
    modifiers: &Modifiers,
    placeholders: &Placeholders,
    keyword: bool,
    matchers: &mut Vec<Matcher>,
    needles: &mut Vec<Needle>,
) -> Result<(), String> {
    if value.is_null() {
        if modifiers.kind != Kind::Plain || !modifiers.transforms.is_empty() || keyword {
            return Err("a null value takes no modifiers".into());
        }
        matchers.push(Matcher::Null);
        return Ok(());
    }
    let Some(text) = scalar_text(value) else {
        return Err(format!(
            "value {} is not a string, number or boolean",
            serde_norway::to_string(value).unwrap_or_default().trim()
        ));
    };
    match modifiers.kind {
        Kind::Compare(op) => {
            let number: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            matchers.push(Matcher::Compare(op, number));
            return Ok(());
        }
        Kind::Cidr => {
            let net = Cidr::parse(&text).ok_or_else(|| format!("`{text}` is not a CIDR range"))?;
            matchers.push(Matcher::Cidr(net));
            return Ok(());
        }
        Kind::Exists | Kind::FieldRef => {
            return Err("internal: exists and fieldref are compiled by the selection".into())
        }
        _ => {}
    }
    for text in transform(text, &modifiers.transforms, placeholders)? {
        if let Kind::Regex {
            insensitive,
            multiline,
            dot_all,
        } = modifiers.kind
        {
            let regex = RegexBuilder::new(&text.text)
                .case_insensitive(insensitive)
                .multi_line(multiline)
                .dot_matches_new_line(dot_all)
                .build()
                .map_err(|e| format!("invalid regular expression `{}`: {e}", text.text))?;
            matchers.push(Matcher::Pattern(regex));
            continue;
        }
        let mut toks = tokens(&text.text, text.literal);
        // Keywords search the whole record: they match anywhere in it.
        let kind = if keyword && modifiers.kind == Kind::Plain {
            Kind::Contains
        } else {
            modifiers.kind
        };
        if matches!(kind, Kind::Contains | Kind::EndsWith) && toks.first() != Some(&Token::Any) {
            toks.insert(0, Token::Any);
        }
        if matches!(kind, Kind::Contains | Kind::StartsWith) && toks.last() != Some(&Token::Any) {
            toks.push(Token::Any);
        }
        compile_tokens(&toks, modifiers.cased, matchers, needles)?;
    }
    Ok(())
}

fn compile_tokens(
    toks: &[Token],
    cased: bool,
    matchers: &mut Vec<Matcher>,
    needles: &mut Vec<Needle>,
) -> Result<(), String> {
    let lead = toks.first() == Some(&Token::Any);
    let trail = toks.len() > 1 && toks.last() == Some(&Token::Any);
    let middle = &toks[usize::from(lead)..toks.len() - usize::from(trail)];
    let literal: Option<String> = middle
        .iter()
        .map(|t| match t {
            Token::Literal(c) => Some(*c),
            _ => None,
        })
        .collect();
    if let Some(text) = literal.filter(|t| cased || t.is_ascii()) {
        match (lead, trail) {
            (false, false) => matchers.push(Matcher::Exact { text, cased }),
            (false, true) => matchers.push(Matcher::Prefix { text, cased }),
            (true, false) => matchers.push(Matcher::Suffix { text, cased }),
            (true, true) if text.is_empty() => {
                matchers.push(Matcher::Prefix { text, cased });
            }
            (true, true) => needles.push(Needle { text, cased }),
        }
        return Ok(());
    }
    let mut pattern = String::from(if cased { "(?s)^" } else { "(?si)^" });
    for token in toks {
        match token {
            Token::Literal(c) => pattern.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            Token::Any => pattern.push_str(".*"),
            Token::One => pattern.push('.'),
        }
    }
    pattern.push('$');
    let regex = RegexBuilder::new(&pattern)
        .build()
        .map_err(|e| format!("cannot compile the wildcard pattern: {e}"))?;
    matchers.push(Matcher::Pattern(regex));
    Ok(())
}

/// Most variants one value may expand to (windash and placeholders multiply).
const MAX_VARIANTS: usize = 4096;

fn transform(
    text: String,
    transforms: &[Transform],
    placeholders: &Placeholders,
) -> Result<Vec<Text>, String> {
    let mut texts = vec![Text {
        text,
        literal: false,
    }];
    for transform in transforms {
        let mut next = Vec::new();
        for text in texts {
            match transform {
                Transform::Base64 => next.push(Text {
                    text: base64::engine::general_purpose::STANDARD.encode(text.text.as_bytes()),
                    literal: true,
                }),
                Transform::Base64Offset => {
                    next.extend(base64_offsets(&text.text).into_iter().map(|text| Text {
                        text,
                        literal: true,
                    }))
                }
                Transform::Windash => next.extend(windash(&text.text).into_iter().map(|t| Text {
                    text: t,
                    literal: text.literal,
                })),
                Transform::Expand => {
                    next.extend(expand(&text.text, placeholders)?.into_iter().map(|t| Text {
                        text: t,
                        literal: text.literal,
                    }))
                }
            }
            if next.len() > MAX_VARIANTS {
                return Err(format!(
                    "the value expands to more than {MAX_VARIANTS} variants"
                ));
            }
        }
        texts = next;
    }
    Ok(texts)
}

/// The three base64 forms of `text` at byte offsets 0, 1 and 2 of an
/// encoded string, without the characters that depend on the neighbours
/// (as pySigma computes them).
pub fn base64_offsets(text: &str) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    let engine = base64::engine::general_purpose::STANDARD;
    (0..3)
        .map(|shift| {
            let mut bytes = vec![b' '; shift];
            bytes.extend_from_slice(text.as_bytes());
            let encoded = engine.encode(&bytes);
            let end = encoded.len() - END_TRIM[(text.len() + shift) % 3];
            encoded
                .get(START[shift]..end)
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The dashes Windows accepts in front of a command-line flag.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Every variant of `text` with each flag dash (`-x`, `/x` at the start of a
/// word) replaced by each of [`DASHES`].
pub fn windash(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            (chars[i] == '-' || chars[i] == '/')
                && (i == 0 || !is_word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| is_word(c))
        })
        .collect();
    let mut variants = vec![chars];
    for position in positions {
        variants = variants
            .into_iter()
            .flat_map(|variant| {
                DASHES.iter().map(move |dash| {
                    let mut v = variant.clone();
                    v[position] = *dash;
                    v
                })
            })
            .take(MAX_VARIANTS + 1)
            .collect();
    }
    variants
        .into_iter()
        .map(|v| v.into_iter().collect())
        .collect()
}

/// Replaces `%name%` placeholders with each of their values (`\%` is a plain `%`).
fn expand(text: &str, placeholders: &Placeholders) -> Result<Vec<String>, String> {
    let mut results = vec![String::new()];
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\%") {
            results.iter_mut().for_each(|r| r.push('%'));
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix('%') {
            if let Some(end) = after.find('%') {
                let name = &after[..end];
                let values = placeholders
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, values)| values)
                    .filter(|values| !values.is_empty())
                    .ok_or_else(|| {
                        format!("placeholder %{name}% has no values (define it under `placeholders` in the mapping file)")
                    })?;
                results = results
                    .iter()
                    .flat_map(|r| values.iter().map(move |v| format!("{r}{v}")))
                    .collect();
                if results.len() > MAX_VARIANTS {
                    return Err(format!(
                        "the value expands to more than {MAX_VARIANTS} variants"
                    ));
                }
                rest = &after[end + 1..];
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        results.iter_mut().for_each(|r| r.push(c));
        rest = &rest[c.len_utf8()..];
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64offset_matches_pysigma() {
        // pySigma's SigmaBase64OffsetModifier on "/bin/bash".
        assert_eq!(
            base64_offsets("/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }

    #[test]
    fn windash_permutes_flag_dashes_only() {
        let variants = windash("net user -add /y a-b");
        assert_eq!(variants.len(), 25);
        assert!(variants.contains(&"net user /add -y a-b".to_string()));
        assert!(variants.contains(&"net user \u{2013}add \u{2015}y a-b".to_string()));
        assert!(variants.iter().all(|v| v.ends_with(" a-b")));
    }

    #[test]
    fn tokens_handle_escapes() {
        use Token::*;
        assert_eq!(
            tokens(r"a\*b", false),
            vec![Literal('a'), Literal('*'), Literal('b')]
        );
        assert_eq!(
            tokens(r"a\\*", false),
            vec![Literal('a'), Literal('\\'), Any]
        );
        assert_eq!(
            tokens(r"a\\\*", false),
            vec![Literal('a'), Literal('\\'), Literal('*')]
        );
        assert_eq!(
            tokens(r"c:\win?", false),
            vec![
                Literal('c'),
                Literal(':'),
                Literal('\\'),
                Literal('w'),
                Literal('i'),
                Literal('n'),
                One
            ]
        );
        assert_eq!(tokens("*", true), vec![Literal('*')]);
    }

    #[test]
    fn expand_replaces_placeholders() {
        let mut placeholders = Placeholders::new();
        placeholders.insert("Admins".into(), vec!["root".into(), "admin".into()]);
        assert_eq!(
            expand(r"u=%Admins%;\%x%", &placeholders).expect("expands"),
            vec!["u=root;%x%", "u=admin;%x%"]
        );
        assert!(expand("%nope%", &placeholders).is_err());
    }
}
