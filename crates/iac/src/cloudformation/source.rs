//! Turning YAML and JSON text into `serde_json` values while keeping track of
//! where things are, shared by the CloudFormation and Kubernetes parsers.
//!
//! Neither `serde_norway` nor `serde_json` give positions of values, and
//! findings need line ranges, so positions come from cheap structural scans
//! of the text (document markers, indentation, JSON brackets) that run only
//! after the real parser has accepted the input.

use std::sync::LazyLock;

use regex::Regex;
use serde::de::{self, Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess};
use serde_json::{Map, Number, Value};

/// A YAML node converted straight to JSON.
///
/// Deserialising into our own type rather than `serde_norway::Value` lets us
/// (a) turn CloudFormation short-form tags into their long forms in the same
/// pass, (b) accept duplicate keys the way `kubectl` and CloudFormation do
/// (last one wins) instead of rejecting the whole document, (c) stringify
/// non-string keys, and (d) apply `<<` merge keys. Nesting depth and alias
/// expansion stay bounded by `serde_norway` (128 levels, and a repetition
/// limit proportional to the document's size), which is what keeps alias
/// bombs and deep nesting from hanging or exhausting memory.
pub(crate) struct Yaml(pub Value);

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(YamlVisitor).map(Yaml)
    }
}

struct YamlVisitor;

impl<'de> de::Visitor<'de> for YamlVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(u64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity; keep YAML's `.nan`/`.inf` visible as text.
        Ok(Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::String(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Yaml::deserialize(d).map(|y| y.0)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Yaml::deserialize(d).map(|y| y.0)
    }

    // Parsed documents are held until their whole unit is checked (every
    // manifest of a scan, at once), so sequences and mappings are sized to
    // their contents: grown one push at a time they keep up to twice the
    // room they need, about a third of a manifest's memory.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Yaml(item)) = seq.next_element()? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        let mut merges = Vec::new();
        while let Some((Yaml(key), Yaml(value))) = access.next_entry()? {
            let key = key_string(key);
            if key == "<<" && is_merge_source(&value) {
                merges.push(value);
                continue;
            }
            entries.push((key, value));
        }
        let mut map = Map::with_capacity(entries.len());
        for (key, value) in entries {
            map.insert(key, value);
        }
        // YAML merge keys: explicit keys win, then earlier merge sources.
        for source in merges {
            let sources = match source {
                Value::Array(items) => items,
                other => vec![other],
            };
            for source in sources {
                if let Value::Object(entries) = source {
                    for (k, v) in entries {
                        map.entry(k).or_insert(v);
                    }
                }
            }
        }
        Ok(Value::Object(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, variant): (String, _) = data.variant()?;
        let Yaml(value) = variant.newtype_variant()?;
        Ok(long_form(&tag, value))
    }
}

fn is_merge_source(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_object),
        _ => false,
    }
}

/// JSON object keys must be strings; YAML's may be numbers (account ids in
/// CloudFormation `Mappings`), booleans or even collections.
fn key_string(key: Value) -> String {
    match key {
        Value::String(s) => s,
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// CloudFormation short-form tag (`!Ref`, `!GetAtt`...) to its long form
/// object. Other tags (application-specific ones in Kubernetes ConfigMaps,
/// say) carry no meaning for scanning, so only the tag is dropped.
fn long_form(tag: &str, value: Value) -> Value {
    let key = match tag {
        "Ref" | "Condition" => tag.to_string(),
        "GetAtt" => {
            // `!GetAtt Res.Attr.Nested`: logical ids cannot contain dots, so
            // the first dot separates the resource from the attribute.
            let value = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![
                        Value::String(resource.to_string()),
                        Value::String(attribute.to_string()),
                    ]),
                    None => Value::String(s),
                },
                other => other,
            };
            return single("Fn::GetAtt", value);
        }
        "Sub" | "If" | "Join" | "Select" | "Split" | "FindInMap" | "Equals" | "Not" | "And"
        | "Or" | "Base64" | "ImportValue" | "GetAZs" | "Cidr" | "Transform" | "Length"
        | "ToJsonString" | "ForEach" => format!("Fn::{tag}"),
        _ => return value,
    };
    single(&key, value)
}

pub(crate) fn single(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_string(), value);
    Value::Object(map)
}

/// Parses one YAML document. `line_offset` is the number of lines before
/// `text` in its file, so errors point at the file's lines, not the chunk's.
pub(crate) fn parse_yaml(text: &str, line_offset: u32) -> Result<Value, (Option<u32>, String)> {
    if let Some(line) = too_deep(text) {
        return Err((
            Some(line.saturating_add(line_offset)),
            format!("flow collections nested more than {MAX_FLOW_DEPTH} levels deep; not parsed"),
        ));
    }
    match serde_norway::from_str::<Yaml>(text) {
        Ok(Yaml(value)) => Ok(value),
        Err(error) => {
            // Errors without a position (alias expansion limits) point at
            // the document's first line.
            let line = error
                .location()
                .map_or(1, |l| u32::try_from(l.line()).unwrap_or(u32::MAX));
            let mut message = shift_lines(&error.to_string(), line_offset);
            if message.contains("repetition limit exceeded") {
                message.push_str(
                    " (aliases expand to too many nodes; refusing a possible alias bomb)",
                );
            }
            Err((Some(line.saturating_add(line_offset)), message))
        }
    }
}

/// `serde_norway` rejects deeper nesting anyway (128 levels in all).
const MAX_FLOW_DEPTH: usize = 128;

/// The line where `[`/`{` nesting first exceeds [`MAX_FLOW_DEPTH`].
///
/// `libyaml` scans flow collections in time quadratic in their depth (it
/// revisits every open level at each token), so a file of a hundred
/// thousand `[` takes minutes before `serde_norway`'s depth limit can
/// reject it. Counting brackets without regard to quoting over-counts only
/// for text with hundreds of unbalanced brackets in strings, which no real
/// manifest or template has.
fn too_deep(text: &str) -> Option<u32> {
    let mut depth = 0usize;
    let mut line = 1u32;
    for byte in text.bytes() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    None
}

/// Rewrites the `line N` mentions of a chunk-relative parser message.
fn shift_lines(message: &str, offset: u32) -> String {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"line (\d+)").expect("constant regex"));
    if offset == 0 {
        return message.to_string();
    }
    LINE.replace_all(message, |caps: &regex::Captures| {
        let n: u64 = caps[1].parse().unwrap_or(0);
        format!("line {}", n + u64::from(offset))
    })
    .into_owned()
}

/// One YAML document of a multi-document stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk<'a> {
    /// The document's text, including its `---` marker line.
    pub text: &'a str,
    /// Lines of the file before `text`.
    pub line_offset: u32,
    /// 1-based first and last lines holding content (not markers, blanks or comments).
    pub start_line: u32,
    pub end_line: u32,
}

/// Splits a YAML stream into documents at `---` / `...` markers.
///
/// `libyaml` gives up on the whole stream at the first syntax error, so one
/// bad document would hide every later one; splitting first lets each
/// document succeed or fail alone. A marker at column 0 always ends a
/// document in YAML (it cannot occur inside a scalar), so the split is exact.
/// Documents without content (`---` followed by comments) are dropped.
pub(crate) fn split_documents(content: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut current = ChunkBuilder::new(0, 0);
    let mut offset = 0usize;
    let mut line_no = 0u32;
    for line in content.split_inclusive('\n') {
        line_no += 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(rest) = marker_rest(bare, "---") {
            // Directives and comments before the first marker belong to it.
            if current.has_marker || current.first.is_some() {
                current.finish(content, offset, &mut chunks);
                current = ChunkBuilder::new(offset, line_no - 1);
            }
            current.has_marker = true;
            if is_content(rest) {
                current.see(line_no);
            }
        } else if marker_rest(bare, "...").is_some() {
            current.finish(content, offset + line.len(), &mut chunks);
            current = ChunkBuilder::new(offset + line.len(), line_no);
        } else if is_content(bare) && !(bare.starts_with('%') && current.first.is_none()) {
            current.see(line_no);
        }
        offset += line.len();
    }
    current.finish(content, content.len(), &mut chunks);
    chunks
}

struct ChunkBuilder {
    start: usize,
    line_offset: u32,
    has_marker: bool,
    first: Option<u32>,
    last: u32,
}

impl ChunkBuilder {
    fn new(start: usize, line_offset: u32) -> Self {
        Self {
            start,
            line_offset,
            has_marker: false,
            first: None,
            last: 0,
        }
    }

    fn see(&mut self, line: u32) {
        self.first.get_or_insert(line);
        self.last = line;
    }

    fn finish<'a>(&self, content: &'a str, end: usize, chunks: &mut Vec<Chunk<'a>>) {
        if let (Some(first), Some(text)) = (self.first, content.get(self.start..end)) {
            chunks.push(Chunk {
                text,
                line_offset: self.line_offset,
                start_line: first,
                end_line: self.last,
            });
        }
    }
}

/// What follows a document marker on its line, if the line is one.
fn marker_rest<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(marker)?;
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then_some(rest)
}

/// A line that holds YAML content rather than blanks or a comment.
pub(crate) fn is_content(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

/// Indentation in spaces of a line.
pub(crate) fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The key of a `key: value` / `"key": value` line (already de-indented).
pub(crate) fn line_key(trimmed: &str) -> Option<String> {
    if let Some(quote) = trimmed.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let rest = &trimmed[1..];
        let close = rest.find(quote)?;
        let after = rest[close + 1..].trim_start();
        return after.starts_with(':').then(|| rest[..close].to_string());
    }
    let mut search = 0;
    while let Some(i) = trimmed[search..].find(':') {
        let colon = search + i;
        let after = &trimmed[colon + 1..];
        if after.is_empty() || after.starts_with([' ', '\t']) {
            return Some(trimmed[..colon].trim_end().to_string());
        }
        search = colon + 1;
    }
    None
}

/// Byte offsets to 1-based line numbers.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    pub fn line_of(&self, offset: usize) -> u32 {
        u32::try_from(self.starts.partition_point(|&s| s <= offset)).unwrap_or(u32::MAX)
    }
}

/// A member of a JSON object (with its key) or an element of an array.
#[derive(Debug, Clone)]
pub(crate) struct JsonChild {
    pub key: Option<String>,
    /// Start of the key for members, of the value for elements.
    pub start: usize,
    /// Exclusive end of the value.
    pub end: usize,
}

/// Byte spans of the children of the value reached by following `path`
/// (object keys) from the JSON value starting at byte `start` of `text`.
///
/// Meant for text that `serde_json` already accepted: it checks only
/// what it needs to find its way and returns `None` on anything odd.
pub(crate) fn json_children(text: &str, start: usize, path: &[&str]) -> Option<Vec<JsonChild>> {
    let bytes = text.as_bytes();
    let mut pos = skip_ws(bytes, start);
    for segment in path {
        let members = children(text, pos)?;
        let member = members
            .into_iter()
            .find(|m| m.key.as_deref() == Some(segment))?;
        let colon = skip_ws(bytes, skip_string(bytes, member.start)?);
        pos = skip_ws(bytes, colon + 1);
    }
    children(text, pos)
}

fn children(text: &str, pos: usize) -> Option<Vec<JsonChild>> {
    let bytes = text.as_bytes();
    let (is_object, close) = match bytes.get(pos)? {
        b'{' => (true, b'}'),
        b'[' => (false, b']'),
        _ => return None,
    };
    let mut out = Vec::new();
    let mut pos = skip_ws(bytes, pos + 1);
    if bytes.get(pos) == Some(&close) {
        return Some(out);
    }
    loop {
        let start = pos;
        let key = if is_object {
            let key_end = skip_string(bytes, pos)?;
            let key = serde_json::from_str::<String>(text.get(pos..key_end)?).ok();
            pos = skip_ws(bytes, key_end);
            if bytes.get(pos) != Some(&b':') {
                return None;
            }
            pos = skip_ws(bytes, pos + 1);
            key
        } else {
            None
        };
        let end = skip_value(bytes, pos)?;
        out.push(JsonChild { key, start, end });
        pos = skip_ws(bytes, end);
        match bytes.get(pos)? {
            b',' => pos = skip_ws(bytes, pos + 1),
            c if *c == close => return Some(out),
            _ => return None,
        }
    }
}

pub(crate) fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
        pos += 1;
    }
    pos
}

/// End (exclusive) of the string starting at `pos`.
fn skip_string(bytes: &[u8], pos: usize) -> Option<usize> {
    if bytes.get(pos) != Some(&b'"') {
        return None;
    }
    let mut i = pos + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// End (exclusive) of the value starting at `pos`; iterative so that
/// nesting depth cannot overflow the stack.
fn skip_value(bytes: &[u8], pos: usize) -> Option<usize> {
    match bytes.get(pos)? {
        b'"' => skip_string(bytes, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = pos;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = pos;
            while bytes
                .get(i)
                .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b',' | b'}' | b']'))
            {
                i += 1;
            }
            (i > pos).then_some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_keeps_lines() {
        let text = "%YAML 1.2\n---\na: 1\n---\n# only a comment\n---\nb: 2\n\nc: 3\n...\nd: 4\n";
        let chunks = split_documents(text);
        let ranges: Vec<_> = chunks.iter().map(|c| (c.start_line, c.end_line)).collect();
        assert_eq!(ranges, vec![(3, 3), (7, 9), (11, 11)]);
        assert!(chunks[0].text.starts_with("%YAML"));
    }

    #[test]
    fn json_children_finds_members() {
        let text = r#"{"a": {"x": [1, {"y": "}"}], "z": "q\"}"}, "b": []}"#;
        let kids = json_children(text, 0, &["a"]).unwrap_or_default();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].key.as_deref(), Some("x"));
        assert_eq!(&text[kids[1].start..kids[1].end], r#""z": "q\"}""#);
    }

    #[test]
    fn line_keys() {
        assert_eq!(line_key("Bucket:").as_deref(), Some("Bucket"));
        assert_eq!(line_key("\"Bucket\" : {").as_deref(), Some("Bucket"));
        assert_eq!(line_key("url: http://x").as_deref(), Some("url"));
        assert_eq!(line_key("- item"), None);
    }
}
