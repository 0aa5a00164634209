//! Finding secrets in one buffer: keyword prefilter, regex, then filters.
//!
//! One Aho-Corasick automaton holds every rule's keywords. A rule's regex
//! runs only on the region around its keywords' occurrences (the keyword's
//! line for single-line rules, a bounded span for rules that can match
//! newlines), and regions of one rule are merged first, so each rule reads a
//! byte at most once: the cost is linear in the input whatever its shape
//! (minified one-line files included).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use palisade_core::InlineSuppression;
use sha2_keyed::Sha256;

use crate::error::Error;
use crate::filter;
use crate::inline::{self, Verdict};
use crate::keywords::{Hit, Hits, KeywordSearcher};
use crate::redact;
use crate::rules::{Candidate, RuleSet, SecretRule, SINGLE_LINE_REACH};
use crate::validate;

/// Bytes of a file sniffed for NUL to decide it is binary (as git does).
const BINARY_SNIFF_LEN: usize = 8000;

/// Keyword hits kept between scans by each thread are cut back to this many.
const RETAINED_HITS: usize = 64 * 1024;

thread_local! {
    /// Each scanning thread's keyword hits, reused from file to file.
    static HITS: std::cell::RefCell<Hits> = std::cell::RefCell::new(Hits::default());
}

/// Evidence is cut to this many characters around the match.
const EVIDENCE_MAX_CHARS: usize = 160;

/// A secret value. It never leaves this crate's matching and verification
/// code: `Debug` masks it and it has no `Serialize`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretValue(String);

impl SecretValue {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact::redact(&self.0))
    }
}

/// One secret found in one buffer.
#[derive(Debug, Clone)]
pub struct SecretMatch {
    /// Index of the rule in the detector's rule set.
    pub rule: usize,
    pub secret: SecretValue,
    /// Keyed hash of the secret: its identity across files, commits and runs.
    pub secret_hash: [u8; 32],
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// The match with the secret masked.
    pub evidence: String,
    pub suppression: Option<InlineSuppression>,
    /// Byte range of the secret in the buffer.
    pub(crate) span: (usize, usize),
}

/// Where a buffer comes from, for path rules and allowlists.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub path: &'a str,
    pub commit: Option<&'a str>,
}

/// Compiled rules plus the keyword automaton.
pub struct Detector {
    rules: RuleSet,
    keywords: KeywordSearcher,
    /// For each keyword pattern, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they run on every buffer.
    unconditional: Vec<usize>,
    key: [u8; 32],
}

impl fmt::Debug for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.rules.len())
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// `key` makes secret hashes unguessable: without it, anyone holding the
    /// database could confirm a guessed password against a finding.
    pub fn new(rules: RuleSet, key: [u8; 32]) -> Result<Self, Error> {
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut unconditional = Vec::new();
        for (index, rule) in rules.rules.iter().enumerate() {
            if rule.regex.is_none() {
                continue;
            }
            if rule.keywords.is_empty() {
                unconditional.push(index);
            }
            for keyword in &rule.keywords {
                match patterns.iter().position(|p| p == keyword) {
                    Some(at) => keyword_rules[at].push(index),
                    None => {
                        patterns.push(keyword.clone());
                        keyword_rules.push(vec![index]);
                    }
                }
            }
        }
        let keywords = KeywordSearcher::new(&patterns).map_err(|e| Error::Config {
            origin: "rule keywords".to_string(),
            message: e.to_string(),
            line: None,
        })?;
        Ok(Detector {
            rules,
            keywords,
            keyword_rules,
            unconditional,
            key,
        })
    }

    pub fn rules(&self) -> &[SecretRule] {
        &self.rules.rules
    }

    pub fn rule_set(&self) -> &RuleSet {
        &self.rules
    }

    /// Whether a global allowlist skips this path without reading it.
    pub fn skips_path(&self, path: &str) -> bool {
        self.rules
            .allowlists
            .iter()
            .any(|a| a.is_path_only() && a.allows_path(path))
    }

    /// The keyed hash identifying a secret value.
    pub fn hash_secret(&self, secret: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        mac.update(secret);
        mac.finalize().into_bytes().into()
    }

    /// Every secret in `content`, in order of position.
    pub fn scan(&self, content: &[u8], source: Source<'_>) -> Vec<SecretMatch> {
        let mut regions = Regions::new(self.rules.rules.len());
        for &rule in &self.unconditional {
            regions.add(rule, 0, content.len());
        }
        let mut line = LineBounds::default();
        HITS.with_borrow_mut(|hits| {
            self.keywords.find_all(content, hits);
            for hit in &hits.all {
                self.add_regions(content, *hit, &mut line, &mut regions);
            }
            hits.shrink_to(RETAINED_HITS);
        });
        let regions = regions.finish();
        if regions.is_empty() {
            return Vec::new();
        }
        let mut lines = LineIndex::default();
        let mut found = Vec::new();
        for (rule, lo, hi) in regions {
            if self.rules.rules[rule].applies_to(source.path) {
                self.match_region(rule, content, lo, hi, source, &mut lines, &mut found);
            }
        }
        self.drop_generic_overlaps(&mut found);
        found.sort_by_key(|m| (m.line, m.column, m.rule));
        found.dedup_by(|a, b| {
            a.rule == b.rule && a.secret_hash == b.secret_hash && a.line == b.line
        });
        found
    }

    /// The regions around one keyword occurrence where its rules' regexes run.
    fn add_regions(&self, content: &[u8], hit: Hit, line: &mut LineBounds, regions: &mut Regions) {
        let (start, end) = (hit.start, hit.end);
        // One line lookup per keyword occurrence, shared by its rules.
        let (line_start, line_end) = line.around(content, start, end);
        for &rule in &self.keyword_rules[hit.keyword] {
            let spec = &self.rules.rules[rule];
            let (lo, hi) = if spec.multiline {
                self.multiline_region(rule, content, start, end)
            } else {
                let hi = line_end.min(end.saturating_add(spec.reach));
                let newline = spec.ends_with_newline
                    && hi == line_end
                    && content.get(line_end) == Some(&b'\n');
                (
                    line_start.max(start.saturating_sub(spec.reach)),
                    hi + usize::from(newline),
                )
            };
            regions.add(rule, lo, hi);
        }
    }

    /// Path-only rules (a file that is a secret by its name, e.g. a PKCS#12
    /// keystore) that match `path`.
    pub fn path_only_rules<'a>(&'a self, path: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.rules
            .rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.regex.is_none() && r.applies_to(path))
            .map(|(i, _)| i)
    }

    /// A value a provider rule recognised is that provider's credential, not
    /// also a generic one: generic matches overlapping a specific match go.
    fn drop_generic_overlaps(&self, found: &mut Vec<SecretMatch>) {
        let rules = &self.rules.rules;
        if !found.iter().any(|m| rules[m.rule].generic) {
            return;
        }
        let specific: Vec<(usize, usize)> = found
            .iter()
            .filter(|m| !rules[m.rule].generic)
            .map(|m| m.span)
            .collect();
        found.retain(|m| {
            !rules[m.rule].generic
                || !specific
                    .iter()
                    .any(|&(start, end)| start < m.span.1 && m.span.0 < end)
        });
    }

    /// A file that is a secret by its name alone.
    pub fn path_match(&self, rule: usize, path: &str) -> SecretMatch {
        SecretMatch {
            rule,
            secret_hash: self.hash_secret(path.as_bytes()),
            secret: SecretValue(path.to_string()),
            line: 1,
            column: 1,
            evidence: format!("file {path}"),
            suppression: None,
            span: (0, 0),
        }
    }

    /// The bytes around a keyword occurrence where a match of a rule that can
    /// span lines can be: its reach either way, widened to whole lines where
    /// that costs little, so anchors see real line ends.
    fn multiline_region(
        &self,
        rule: usize,
        content: &[u8],
        start: usize,
        end: usize,
    ) -> (usize, usize) {
        let reach = self.rules.rules[rule].reach;
        let lo = start.saturating_sub(reach);
        let hi = end.saturating_add(reach).min(content.len());
        (snap_back(content, lo, 256), snap_forward(content, hi, 256))
    }

    #[allow(clippy::too_many_arguments)]
    fn match_region(
        &self,
        rule_index: usize,
        content: &[u8],
        lo: usize,
        hi: usize,
        source: Source<'_>,
        lines: &mut LineIndex,
        found: &mut Vec<SecretMatch>,
    ) {
        let rule = &self.rules.rules[rule_index];
        let Some(regex) = &rule.regex else { return };
        let haystack = &content[lo..hi];
        for captures in regex.captures_iter(haystack) {
            let Some(whole) = captures.get(0) else {
                continue;
            };
            let secret = match rule.secret_group {
                Some(group) if group > 0 => match captures.get(group) {
                    Some(m) => m,
                    None => continue,
                },
                _ => captures
                    .iter()
                    .skip(1)
                    .flatten()
                    .find(|m| !m.is_empty())
                    .unwrap_or(whole),
            };
            let secret_bytes = secret.as_bytes();
            if secret_bytes.is_empty() {
                continue;
            }
            let absolute = lo + secret.start();
            let (line_start, line_end) = line_bounds(content, absolute);
            let line = &content[line_start..line_end];
            if let Some(verdict) = self.reject(rule, source, secret_bytes, whole.as_bytes(), line) {
                tracing::trace!(rule = %rule.meta.id, path = source.path, reason = verdict, "candidate dropped");
                continue;
            }
            let line_text = String::from_utf8_lossy(line);
            let previous = previous_line(content, line_start).map(String::from_utf8_lossy);
            let suppression = match inline::verdict(&line_text, previous.as_deref(), &rule.meta.id)
            {
                Verdict::Drop => continue,
                Verdict::Suppress(s) => Some(s),
                Verdict::Report => None,
            };
            let secret_text = String::from_utf8_lossy(secret_bytes).into_owned();
            let (line_no, column) = lines.position(content, absolute);
            found.push(SecretMatch {
                rule: rule_index,
                secret_hash: self.hash_secret(secret_bytes),
                evidence: evidence(
                    whole.as_bytes(),
                    secret.start() - whole.start(),
                    secret_bytes.len(),
                    &secret_text,
                ),
                secret: SecretValue(secret_text),
                line: line_no,
                column,
                suppression,
                span: (absolute, absolute + secret_bytes.len()),
            });
        }
    }

    /// Why a regex match is not reported, if it is not.
    fn reject(
        &self,
        rule: &SecretRule,
        source: Source<'_>,
        secret: &[u8],
        whole: &[u8],
        line: &[u8],
    ) -> Option<&'static str> {
        if let Some(min) = rule.entropy {
            if filter::shannon_entropy(secret) < min {
                return Some("entropy");
            }
        }
        let text = String::from_utf8_lossy(secret);
        if filter::is_placeholder(&text) {
            return Some("placeholder");
        }
        if rule.generic
            && (filter::is_generic_false_positive(&text)
                || filter::value_names_itself(whole, &text))
        {
            return Some("not a secret value");
        }
        if let Some(validator) = rule.validator {
            if !validate::is_valid(validator, &text) {
                return Some("fails validation");
            }
        }
        let line_text = String::from_utf8_lossy(line);
        if filter::line_marks_fake(&line_text) {
            return Some("marked fake");
        }
        let candidate = Candidate {
            path: source.path,
            commit: source.commit,
            secret,
            whole_match: whole,
            line,
        };
        if rule.allowlists.iter().any(|a| a.allows(&candidate))
            || self.rules.allowlists.iter().any(|a| a.allows(&candidate))
        {
            return Some("allowlisted");
        }
        None
    }
}

/// Whether a buffer is binary: a NUL byte near its start, as git decides.
pub fn is_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(BINARY_SNIFF_LEN)]).is_some()
}

fn snap_back(content: &[u8], at: usize, max: usize) -> usize {
    let floor = at.saturating_sub(max);
    match memchr::memrchr(b'\n', &content[floor..at]) {
        Some(p) => floor + p + 1,
        None if floor == 0 => 0,
        None => at,
    }
}

fn snap_forward(content: &[u8], at: usize, max: usize) -> usize {
    let ceiling = at.saturating_add(max).min(content.len());
    match memchr::memchr(b'\n', &content[at..ceiling]) {
        Some(p) => at + p,
        None if ceiling == content.len() => ceiling,
        None => at,
    }
}

fn line_bounds(content: &[u8], at: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &content[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &content[at..]).map_or(content.len(), |p| at + p);
    (start, end)
}

fn previous_line(content: &[u8], line_start: usize) -> Option<&[u8]> {
    if line_start == 0 {
        return None;
    }
    let end = line_start - 1;
    let start = memchr::memrchr(b'\n', &content[..end]).map_or(0, |p| p + 1);
    Some(&content[start..end])
}

/// The match with the secret masked, on one line, cut to a readable length.
fn evidence(whole: &[u8], secret_offset: usize, secret_len: usize, secret: &str) -> String {
    let before = String::from_utf8_lossy(&whole[..secret_offset]);
    let after = String::from_utf8_lossy(&whole[secret_offset + secret_len..]);
    let text = format!("{before}{}{after}", redact::redact(secret));
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > EVIDENCE_MAX_CHARS {
        let cut: String = one_line.chars().take(EVIDENCE_MAX_CHARS).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// The regions each rule's regex runs on. Keyword occurrences arrive in
/// order, so a rule's overlapping regions are merged as they come, with one
/// open region per rule, instead of being collected and sorted.
struct Regions {
    open: Vec<Option<(usize, usize)>>,
    closed: Vec<(usize, usize, usize)>,
}

impl Regions {
    fn new(rules: usize) -> Self {
        Self {
            open: vec![None; rules],
            closed: Vec::new(),
        }
    }

    fn add(&mut self, rule: usize, lo: usize, hi: usize) {
        match &mut self.open[rule] {
            Some((open_lo, open_hi)) if lo <= *open_hi && *open_lo <= hi => {
                *open_lo = (*open_lo).min(lo);
                *open_hi = (*open_hi).max(hi);
            }
            slot => {
                if let Some((open_lo, open_hi)) = slot.replace((lo, hi)) {
                    self.closed.push((rule, open_lo, open_hi));
                }
            }
        }
    }

    fn finish(mut self) -> Vec<(usize, usize, usize)> {
        for (rule, open) in self.open.iter().enumerate() {
            if let Some((lo, hi)) = open {
                self.closed.push((rule, *lo, *hi));
            }
        }
        self.closed
    }
}

/// The line around a keyword occurrence, looked up at most
/// `SINGLE_LINE_REACH` bytes either way, and remembered: keywords cluster
/// on the same lines.
#[derive(Default)]
struct LineBounds {
    /// (start, end) of the last whole line found.
    last: Option<(usize, usize)>,
}

impl LineBounds {
    fn around(&mut self, content: &[u8], start: usize, end: usize) -> (usize, usize) {
        if let Some((line_start, line_end)) = self.last {
            if line_start <= start && end <= line_end {
                return (line_start, line_end);
            }
        }
        let floor = start.saturating_sub(SINGLE_LINE_REACH);
        let ceiling = end.saturating_add(SINGLE_LINE_REACH).min(content.len());
        let line_start = memchr::memrchr(b'\n', &content[floor..start]).map(|p| floor + p + 1);
        let line_end = memchr::memchr(b'\n', &content[end..ceiling]).map(|p| end + p);
        let whole_line = (
            line_start.or((floor == 0).then_some(0)),
            line_end.or((ceiling == content.len()).then_some(ceiling)),
        );
        match whole_line {
            (Some(line_start), Some(line_end)) => {
                self.last = Some((line_start, line_end));
                (line_start, line_end)
            }
            // A line longer than the reach (minified code): a window around the keyword.
            (line_start, line_end) => (line_start.unwrap_or(floor), line_end.unwrap_or(ceiling)),
        }
    }
}

/// Line starts, computed once per buffer and only if something matched.
#[derive(Default)]
struct LineIndex {
    starts: Option<Vec<usize>>,
}

impl LineIndex {
    fn position(&mut self, content: &[u8], at: usize) -> (u32, u32) {
        let starts = self.starts.get_or_insert_with(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', content).map(|p| p + 1))
                .collect()
        });
        let line = starts.partition_point(|&s| s <= at).max(1);
        let line_start = starts[line - 1];
        let column = String::from_utf8_lossy(&content[line_start..at])
            .chars()
            .count()
            + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }
}
