//! Rules compiled for matching, and their metadata as palisade `Rule`s.

use std::sync::Arc;

use palisade_core::{Category, ComplianceRef, PeerId, Rule, Severity};
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::config::{AllowlistSpec, ResolvedConfig, RuleSpec, ValidatorName, VerifierRole};
use crate::error::Error;

/// Prefix of every secret rule id in palisade's namespace.
pub const RULE_PREFIX: &str = "secret.";

/// How far from a keyword a match may reach when its regex has no bound.
pub(crate) const SINGLE_LINE_REACH: usize = 4 * 1024;
const MULTI_LINE_REACH: usize = 32 * 1024;

/// Compiled regexes are capped so a hostile user rule cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 16 * 1024 * 1024;
/// Per-thread cache of a regex's lazily built DFA. Generic rules (a name,
/// bounded repetitions, several quoting forms) need far more states than the
/// 2 MB default holds; a cache that keeps filling up is rebuilt over and over.
const LAZY_DFA_CACHE_LIMIT: usize = 32 * 1024 * 1024;

/// One rule, ready to match.
#[derive(Debug)]
pub struct SecretRule {
    /// palisade's metadata for findings and reports.
    pub meta: Rule,
    /// The id as written in the configuration (gitleaks' namespace).
    pub config_id: String,
    pub regex: Option<Regex>,
    pub secret_group: Option<usize>,
    pub entropy: Option<f64>,
    /// Lowercased keywords; empty means the rule runs on every file.
    pub keywords: Vec<String>,
    pub path: Option<regex::Regex>,
    pub validator: Option<ValidatorName>,
    pub verifier: Option<VerifierRole>,
    pub allowlists: Vec<Allowlist>,
    /// Whether a match can span lines (it can go on after a newline).
    pub multiline: bool,
    /// Whether a single-line match can end with the line's newline, so the
    /// line is given to the regex with it.
    pub ends_with_newline: bool,
    /// How many bytes around a keyword a match can extend.
    pub reach: usize,
    /// Matches any high-entropy value by its name, so hashes, ids and code
    /// need filtering out.
    pub generic: bool,
}

/// What an allowlist's regexes are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    Secret,
    Match,
    Line,
}

/// A compiled allowlist.
#[derive(Debug)]
pub struct Allowlist {
    pub require_all: bool,
    pub commits: Vec<String>,
    pub paths: Vec<regex::Regex>,
    pub target: RegexTarget,
    pub regexes: Vec<Regex>,
    /// Lowercased.
    pub stopwords: Vec<String>,
}

/// What an allowlist is asked about one match.
pub struct Candidate<'a> {
    pub path: &'a str,
    pub commit: Option<&'a str>,
    pub secret: &'a [u8],
    pub whole_match: &'a [u8],
    pub line: &'a [u8],
}

impl Allowlist {
    fn compile(spec: &AllowlistSpec, origin: &str, rule: &str) -> Result<Self, Error> {
        let error = |message: String| Error::Rule {
            origin: origin.to_string(),
            rule: rule.to_string(),
            message,
        };
        let target = match spec.regex_target.as_deref() {
            None | Some("secret") | Some("") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some(other) => return Err(error(format!("unknown allowlist regexTarget `{other}`"))),
        };
        let require_all = match spec.condition.as_deref().map(str::to_ascii_uppercase) {
            None => false,
            Some(c) if c == "OR" || c.is_empty() => false,
            Some(c) if c == "AND" => true,
            Some(other) => return Err(error(format!("unknown allowlist condition `{other}`"))),
        };
        Ok(Allowlist {
            require_all,
            commits: spec.commits.clone(),
            paths: spec
                .paths
                .iter()
                .map(|p| compile_path_regex(p).map_err(&error))
                .collect::<Result<_, _>>()?,
            target,
            regexes: spec
                .regexes
                .iter()
                .map(|r| compile_regex(r).map_err(&error))
                .collect::<Result<_, _>>()?,
            stopwords: spec.stopwords.iter().map(|s| s.to_lowercase()).collect(),
        })
    }

    /// Whether this allowlist lets the candidate through unreported.
    pub fn allows(&self, candidate: &Candidate<'_>) -> bool {
        let mut criteria = [None; 4];
        if !self.commits.is_empty() {
            criteria[0] = Some(candidate.commit.is_some_and(|c| {
                self.commits
                    .iter()
                    .any(|allowed| c.starts_with(allowed.as_str()))
            }));
        }
        if !self.paths.is_empty() {
            criteria[1] = Some(self.allows_path(candidate.path));
        }
        if !self.regexes.is_empty() {
            let text = match self.target {
                RegexTarget::Secret => candidate.secret,
                RegexTarget::Match => candidate.whole_match,
                RegexTarget::Line => candidate.line,
            };
            criteria[2] = Some(self.regexes.iter().any(|r| r.is_match(text)));
        }
        if !self.stopwords.is_empty() {
            let secret = String::from_utf8_lossy(candidate.secret).to_lowercase();
            criteria[3] = Some(self.stopwords.iter().any(|w| secret.contains(w.as_str())));
        }
        let mut given = criteria.iter().flatten().peekable();
        if given.peek().is_none() {
            return false;
        }
        if self.require_all {
            given.all(|met| *met)
        } else {
            given.any(|met| *met)
        }
    }

    pub fn allows_path(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p.is_match(path))
    }

    /// An allowlist that skips whole files by path alone, before reading them.
    pub fn is_path_only(&self) -> bool {
        !self.paths.is_empty()
            && (!self.require_all
                || (self.commits.is_empty()
                    && self.regexes.is_empty()
                    && self.stopwords.is_empty()))
    }
}

/// Every rule and global allowlist of a configuration, compiled.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<SecretRule>,
    pub allowlists: Vec<Allowlist>,
}

impl RuleSet {
    pub fn builtin() -> Result<Self, Error> {
        Self::compile(&ResolvedConfig::builtin()?)
    }

    pub fn compile(config: &ResolvedConfig) -> Result<Self, Error> {
        let origin = config.sources.join(" + ");
        let rules = config
            .rules
            .iter()
            .map(|spec| SecretRule::compile(spec, &origin))
            .collect::<Result<Vec<_>, _>>()?;
        let allowlists = config
            .allowlists
            .iter()
            .map(|spec| Allowlist::compile(spec, &origin, "(global allowlist)"))
            .collect::<Result<_, _>>()?;
        Ok(RuleSet { rules, allowlists })
    }

    /// The rules' metadata, in configuration order.
    pub fn metadata(&self) -> Vec<Rule> {
        self.rules.iter().map(|r| r.meta.clone()).collect()
    }

    /// Drops rules by palisade id (`secret.x`) or configuration id (`x`);
    /// a trailing `*` disables a family.
    pub fn disable(&mut self, ids: &[String]) {
        self.rules.retain(|rule| {
            !ids.iter().any(|id| match id.strip_suffix('*') {
                Some(prefix) => {
                    rule.meta.id.starts_with(prefix) || rule.config_id.starts_with(prefix)
                }
                None => *id == rule.meta.id || *id == rule.config_id,
            })
        });
    }

    pub fn override_severity(&mut self, id: &str, severity: Severity) {
        for rule in &mut self.rules {
            if rule.meta.id == id || rule.config_id == id {
                rule.meta.severity = severity;
            }
        }
    }
}

impl SecretRule {
    fn compile(spec: &RuleSpec, origin: &str) -> Result<Self, Error> {
        let error = |message: String| Error::Rule {
            origin: origin.to_string(),
            rule: spec.id.clone(),
            message,
        };
        if spec.id.trim().is_empty() {
            return Err(error("a rule has no id".to_string()));
        }
        if spec.regex.is_none() && spec.path.is_none() {
            return Err(error("a rule needs a regex, a path, or both".to_string()));
        }
        let (regex, multiline, ends_with_newline, reach) = match &spec.regex {
            Some(source) => {
                let regex = compile_regex(source).map_err(&error)?;
                let Analysis {
                    multiline,
                    ends_with_newline,
                    max_len,
                } = analyse(source);
                let cap = if multiline {
                    MULTI_LINE_REACH
                } else {
                    SINGLE_LINE_REACH
                };
                (
                    Some(regex),
                    multiline,
                    ends_with_newline,
                    max_len.map_or(cap, |m| m.min(cap)),
                )
            }
            None => (None, false, false, 0),
        };
        let path = spec
            .path
            .as_deref()
            .map(compile_path_regex)
            .transpose()
            .map_err(&error)?;
        let allowlists = spec
            .all_allowlists()
            .map(|a| Allowlist::compile(a, origin, &spec.id))
            .collect::<Result<_, _>>()?;
        let family = spec.tags.first().map(String::as_str).unwrap_or("custom");
        let generic = family == "generic" || spec.id.starts_with("generic");
        Ok(SecretRule {
            meta: metadata(spec, family),
            config_id: spec.id.clone(),
            regex,
            secret_group: spec.secret_group,
            entropy: spec.entropy,
            keywords: spec
                .keywords
                .iter()
                .map(|k| k.to_lowercase())
                .filter(|k| !k.is_empty())
                .collect(),
            path,
            validator: spec.validate,
            verifier: spec.verify,
            allowlists,
            multiline,
            ends_with_newline,
            reach,
            generic,
        })
    }

    /// Whether the rule looks at the file at `path` at all.
    pub fn applies_to(&self, path: &str) -> bool {
        self.path.as_ref().is_none_or(|p| p.is_match(path))
    }
}

/// Rules are compiled as Go's RE2 reads them: `\w`, `\d`, `\s` and `\b` are
/// ASCII, and case-insensitivity is ASCII. Besides compatibility with
/// gitleaks' rules this keeps automata small (a Unicode `[\w-]{50,1000}`
/// compiles to over 16 MB) and matching fast.
fn compile_regex(source: &str) -> Result<Regex, String> {
    RegexBuilder::new(&go_compatible(source))
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(LAZY_DFA_CACHE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex: {}", first_line(&e.to_string())))
}

fn compile_path_regex(source: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&go_compatible(source))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid path regex: {}", first_line(&e.to_string())))
}

/// gitleaks' regexes are written for Go's RE2, which reads a `{` that does
/// not start a repetition (`{3}`, `{2,}`, `{1,5}`) as a literal brace; Rust's
/// regex rejects it. Escaping such braces keeps the meaning.
fn go_compatible(source: &str) -> std::borrow::Cow<'_, str> {
    if !source.contains('{') {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 8);
    let mut chars = source.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            }
            '{' if !starts_repetition(&source[at + 1..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `rest` (the text after a `{`) is `m}`, `m,}` or `m,n}`.
fn starts_repetition(rest: &str) -> bool {
    let Some(close) = rest.find('}') else {
        return false;
    };
    let body = &rest[..close];
    let (min, max) = body.split_once(',').unwrap_or((body, "0"));
    !min.is_empty()
        && min.bytes().all(|b| b.is_ascii_digit())
        && max.bytes().all(|b| b.is_ascii_digit())
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or(text.lines().next().unwrap_or(text))
}

/// Whether a match can continue past a newline (so it can span lines), and
/// the longest match the regex can make.
///
/// A newline the regex can only match as its last byte (a value's
/// terminator, as in `(?:\s|$)`) does not make it multi-line: run on a line
/// with its newline, it matches as on the whole buffer.
fn analyse(source: &str) -> Analysis {
    match regex_syntax::Parser::new().parse(source) {
        Ok(hir) => {
            let multiline = newline_inside(&hir);
            Analysis {
                multiline,
                ends_with_newline: !multiline && can_match_newline(&hir),
                max_len: hir.properties().maximum_len(),
            }
        }
        // The regex crate compiled it, so this does not happen; assume the worst.
        Err(_) => Analysis {
            multiline: true,
            ends_with_newline: false,
            max_len: None,
        },
    }
}

struct Analysis {
    multiline: bool,
    ends_with_newline: bool,
    max_len: Option<usize>,
}

/// Whether a match of `hir` can have a newline followed by more matched bytes.
fn newline_inside(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(literal) => literal.0.iter().rev().skip(1).any(|&b| b == b'\n'),
        HirKind::Class(_) | HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Repetition(rep) => {
            newline_inside(&rep.sub) || (rep.max != Some(1) && can_match_newline(&rep.sub))
        }
        HirKind::Capture(cap) => newline_inside(&cap.sub),
        HirKind::Alternation(subs) => subs.iter().any(newline_inside),
        HirKind::Concat(subs) => subs.iter().enumerate().any(|(at, sub)| {
            newline_inside(sub)
                || (can_match_newline(sub)
                    && subs[at + 1..]
                        .iter()
                        .any(|later| later.properties().maximum_len() != Some(0)))
        }),
    }
}

fn can_match_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(literal) => literal.0.contains(&b'\n'),
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        HirKind::Class(Class::Bytes(class)) => class
            .ranges()
            .iter()
            .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        HirKind::Repetition(rep) => can_match_newline(&rep.sub),
        HirKind::Capture(cap) => can_match_newline(&cap.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(can_match_newline),
        HirKind::Empty | HirKind::Look(_) => false,
    }
}

fn metadata(spec: &RuleSpec, family: &str) -> Rule {
    let title = if spec.description.is_empty() {
        spec.id.clone()
    } else {
        spec.description.clone()
    };
    let mut peers = Vec::new();
    if let Some(id) = &spec.gitleaks {
        peers.push(PeerId::new("gitleaks", id));
    }
    if let Some(id) = &spec.detect_secrets {
        peers.push(PeerId::new("detect-secrets", id));
    }
    Rule {
        id: format!("{RULE_PREFIX}{}", spec.id),
        title: Arc::from(title.as_str()),
        severity: spec.severity.unwrap_or(Severity::High),
        category: Category::Secret,
        description: format!(
            "Finds {} committed to code ({family} credential).",
            lowercase_first(&title)
        ),
        remediation: Arc::from(REMEDIATION),
        references: Arc::from(spec.references.clone()),
        compliance: compliance(),
        peers,
    }
}

const REMEDIATION: &str = "Revoke or rotate the credential with its provider first (it is exposed \
to everyone with read access to the repository and its history), then remove it from the code, \
load it at runtime from a secret manager or the environment, and purge it from git history \
(git filter-repo) if the repository is shared.";

fn compliance() -> Arc<[ComplianceRef]> {
    Arc::from(vec![
        ComplianceRef::new("SOC 2", "CC6.1"),
        ComplianceRef::new("ISO 27001:2022", "A.5.17"),
        ComplianceRef::new("ISO 27001:2022", "A.8.4"),
        ComplianceRef::new("CIS Controls v8", "16.4"),
    ])
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Keep acronyms and names (`AWS`, `GitHub`) as written.
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_braces_are_escaped_and_repetitions_kept() {
        assert_eq!(go_compatible(r"a{3}b{2,}c{1,5}"), r"a{3}b{2,}c{1,5}");
        assert_eq!(go_compatible(r"[\w${}@]+"), r"[\w$\{}@]+");
        assert_eq!(go_compatible(r"\{\{x}}"), r"\{\{x}}");
        assert_eq!(go_compatible(r"{{ .Values }}"), r"\{\{ .Values }}");
        assert!(compile_regex(r"[\w${}@.-]+").is_ok());
    }

    #[test]
    fn a_regex_is_multiline_only_when_a_match_goes_on_after_a_newline() {
        let classify = |source: &str| {
            let a = analyse(source);
            (a.multiline, a.ends_with_newline)
        };
        // A newline as the value's terminator: one line, given with its newline.
        assert_eq!(classify(r"key=([a-z]{8})(?:\s|$)"), (false, true));
        assert_eq!(classify(r"key: ([a-z]{8})[ \t]*(?:\r?\n|$)"), (false, true));
        // No newline at all.
        assert_eq!(classify(r"ghp_[A-Za-z0-9]{36}"), (false, false));
        assert_eq!(classify(r"[^\n]{0,40}x"), (false, false));
        // Newlines inside the match.
        assert_eq!(classify(r"key\s{0,3}=\s*([a-z]{8})"), (true, false));
        assert_eq!(classify(r"-----BEGIN[\s\S]{64,}?-----END"), (true, false));
        assert_eq!(classify("a\nb"), (true, false));
        assert_eq!(classify(r"(?:a|\n)+"), (true, false));
    }
}
