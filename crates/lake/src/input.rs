//! Finding, reading and decompressing input objects.

use std::borrow::Cow;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::quarantine::Problem;
use crate::schema::Source;

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The most one object may decompress to. CloudTrail files are a few MB
/// decompressed; this stops a gzip bomb from exhausting memory.
pub const MAX_DECOMPRESSED_SIZE: u64 = 1 << 30;
/// The most memory reserved up front for decompressing one object.
const MAX_PREALLOCATION: usize = 64 << 20;

/// One input file, read whole: CloudTrail delivers objects of a few MB at most.
#[derive(Debug, Clone)]
pub struct InputObject {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its name in the manifest and the quarantine: the path from the
    /// `AWSLogs/` component on when there is one (the S3 key CloudTrail gave
    /// it), else the path as given.
    pub key: String,
    /// Size in bytes, as stored (compressed).
    pub size: u64,
    /// SHA-256 of the stored bytes, lower-case hex: the object's identity in
    /// the manifest.
    pub sha256: String,
    /// When it was last modified, if known (RFC 3164 syslog years are
    /// inferred from it).
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
    bytes: Vec<u8>,
}

impl InputObject {
    /// Reads `path` whole and hashes it.
    pub fn read(path: &Path) -> Result<InputObject> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(chrono::DateTime::<chrono::Utc>::from);
        Ok(InputObject {
            modified,
            ..InputObject::from_bytes(path, bytes)
        })
    }

    /// An object fetched from an object store: `key` is its key there.
    pub fn from_key(
        key: &str,
        bytes: Vec<u8>,
        modified: Option<chrono::DateTime<chrono::Utc>>,
    ) -> InputObject {
        InputObject {
            modified,
            ..InputObject::from_bytes(Path::new(key), bytes)
        }
    }

    /// An object from bytes already in memory (tests, standard input).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> InputObject {
        InputObject {
            path: path.to_path_buf(),
            key: object_key(path),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            modified: None,
            bytes,
        }
    }

    /// The content, decompressed when it starts with the gzip magic bytes
    /// (whatever the file is called). A gzip stream that is truncated or
    /// corrupt gives what could be decompressed before the damage, plus the
    /// problem to quarantine; so does one that decompresses to more than
    /// [`MAX_DECOMPRESSED_SIZE`] (a gzip bomb), cut at that size.
    pub fn content(&self) -> (Cow<'_, [u8]>, Option<Problem>) {
        self.content_with_limit(MAX_DECOMPRESSED_SIZE)
    }

    /// [`InputObject::content`], taking the object: content that is not
    /// compressed is handed over instead of copied.
    pub fn into_content(self) -> (Vec<u8>, Option<Problem>) {
        let (content, problem) = self.content();
        let decompressed = match content {
            Cow::Owned(decompressed) => Some(decompressed),
            Cow::Borrowed(_) => None,
        };
        (decompressed.unwrap_or(self.bytes), problem)
    }

    fn content_with_limit(&self, limit: u64) -> (Cow<'_, [u8]>, Option<Problem>) {
        if !self.bytes.starts_with(&GZIP_MAGIC) {
            return (Cow::Borrowed(&self.bytes), None);
        }
        let decoder = flate2::read::MultiGzDecoder::new(self.bytes.as_slice());
        let mut out = Vec::with_capacity(self.bytes.len().saturating_mul(8).min(MAX_PREALLOCATION));
        // On error `read_to_end` keeps what it read so far in `out`.
        let mut limited = decoder.take(limit.saturating_add(1));
        match limited.read_to_end(&mut out) {
            Ok(_) if out.len() as u64 > limit => {
                out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                let problem = Problem {
                    record_index: None,
                    byte_offset: Some(limit),
                    reason: format!(
                        "decompresses to more than {limit} bytes; the rest was not read \
                         (the complete records before that point were kept)"
                    ),
                    record: None,
                };
                (Cow::Owned(out), Some(problem))
            }
            Ok(_) => (Cow::Owned(out), None),
            Err(error) => {
                let problem = Problem {
                    record_index: None,
                    byte_offset: Some(out.len() as u64),
                    reason: format!(
                        "gzip stream is truncated or corrupt after {} decompressed bytes: {error}; \
                         the complete records before that point were kept",
                        out.len()
                    ),
                    record: None,
                };
                (Cow::Owned(out), Some(problem))
            }
        }
    }
}

/// The manifest key of a path: from `AWSLogs/` on if present.
fn object_key(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    match text.find("AWSLogs/") {
        Some(start) if start == 0 || text[..start].ends_with('/') => text[start..].to_string(),
        _ => text,
    }
}

/// The files under `path` (or `path` itself) that `source` reads, sorted.
///
/// CloudTrail: `*.json` and `*.json.gz`, skipping the `CloudTrail-Digest`
/// directories (integrity digests, not events). Kubernetes audit: `*.log`,
/// `*.json`, `*.jsonl`, each optionally `.gz`. Hidden files and
/// directories (name starting with `.`) are skipped; symbolic links are not
/// followed.
pub fn discover(source: Source, path: &Path) -> Result<Vec<PathBuf>> {
    let metadata = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    if metadata.is_file() {
        found.push(path.to_path_buf());
        return Ok(found);
    }
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let file_type = entry.file_type().map_err(|source| Error::Read {
                path: entry.path(),
                source,
            })?;
            if file_type.is_dir() {
                if !skips_directory(source, &name) {
                    pending.push(entry.path());
                }
            } else if file_type.is_file() && reads_file(source, &name) {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether an object key (an S3 key, `/`-separated) is a file `source`
/// reads, by the rules of [`discover`]: the last component is checked like
/// a file name, the others like directory names.
pub fn reads_key(source: Source, key: &str) -> bool {
    let mut components: Vec<&str> = key.split('/').filter(|c| !c.is_empty()).collect();
    let Some(name) = components.pop() else {
        return false;
    };
    !name.starts_with('.')
        && reads_file(source, name)
        && components
            .iter()
            .all(|dir| !dir.starts_with('.') && !skips_directory(source, dir))
}

fn skips_directory(source: Source, name: &str) -> bool {
    match source {
        Source::CloudTrail => name == "CloudTrail-Digest",
        _ => false,
    }
}

fn reads_file(source: Source, name: &str) -> bool {
    match source {
        Source::CloudTrail => name.ends_with(".json") || name.ends_with(".json.gz"),
        // The API server's log backend writes `audit.log` and rotates to
        // `audit-<time>.log` (optionally gzipped); collectors use `.json[l]`.
        Source::K8sAudit => [
            ".log",
            ".log.gz",
            ".json",
            ".json.gz",
            ".jsonl",
            ".jsonl.gz",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix)),
        Source::Json => [".json", ".jsonl", ".ndjson", ".log"]
            .iter()
            .any(|suffix| name.ends_with(suffix) || name.ends_with(&format!("{suffix}.gz"))),
        // Syslog files: `syslog`, `messages`, `auth.log`, `secure` and their
        // rotations (`syslog.1`, `auth.log.2.gz`), and `*.log`.
        Source::Syslog => {
            let base = name.strip_suffix(".gz").unwrap_or(name);
            let base = base.trim_end_matches(|c: char| c.is_ascii_digit());
            let base = base.strip_suffix('.').unwrap_or(base);
            base.ends_with(".log")
                || ["syslog", "messages", "secure", "maillog", "kern", "daemon"].contains(&base)
                || base.ends_with(".syslog")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_starts_at_awslogs() {
        assert_eq!(
            object_key(Path::new(
                "/data/bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/23/x.json.gz"
            )),
            "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/23/x.json.gz"
        );
        assert_eq!(object_key(Path::new("logs/x.json")), "logs/x.json");
        assert_eq!(
            object_key(Path::new("/data/NotAWSLogs/x.json")),
            "/data/NotAWSLogs/x.json"
        );
    }

    #[test]
    fn keys_follow_the_file_rules() {
        let key = "AWSLogs/1/CloudTrail/us-east-1/2026/11/23/x.json.gz";
        assert!(reads_key(Source::CloudTrail, key));
        assert!(!reads_key(
            Source::CloudTrail,
            "AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz"
        ));
        assert!(!reads_key(Source::CloudTrail, "AWSLogs/1/.hidden/x.json"));
        assert!(!reads_key(Source::CloudTrail, "AWSLogs/1/x.txt"));
        assert!(!reads_key(Source::CloudTrail, "AWSLogs/"));
        assert!(reads_key(Source::Syslog, "hosts/web1/auth.log.2.gz"));
    }

    #[test]
    fn plain_content_is_returned_as_is_and_hashed() {
        let object = InputObject::from_bytes(Path::new("a.json"), b"{}".to_vec());
        assert_eq!(object.size, 2);
        assert_eq!(
            object.sha256,
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let (content, problem) = object.content();
        assert_eq!(&*content, b"{}");
        assert!(problem.is_none());
    }

    #[test]
    fn truncated_gzip_keeps_the_decompressed_prefix() {
        use std::io::Write as _;
        let text = "x".repeat(10_000);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).expect("in-memory write");
        let mut gz = encoder.finish().expect("in-memory gzip");
        let whole = InputObject::from_bytes(Path::new("a.json.gz"), gz.clone());
        let (content, problem) = whole.content();
        assert_eq!(content.len(), 10_000);
        assert!(problem.is_none());

        gz.truncate(gz.len() - 8); // drop the CRC and size trailer
        let truncated = InputObject::from_bytes(Path::new("a.json.gz"), gz);
        let (content, problem) = truncated.content();
        let problem = problem.expect("a truncated stream is a problem");
        assert!(
            problem.reason.contains("truncated or corrupt"),
            "{problem:?}"
        );
        assert!(content.len() <= 10_000);
        assert!(content.iter().all(|b| *b == b'x'));
    }

    #[test]
    fn decompression_stops_at_the_limit() {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[b'y'; 5000]).expect("in-memory write");
        let object = InputObject::from_bytes(
            Path::new("bomb.json.gz"),
            encoder.finish().expect("in-memory gzip"),
        );
        let (content, problem) = object.content_with_limit(1000);
        assert_eq!(content.len(), 1000);
        let problem = problem.expect("over the limit is a problem");
        assert_eq!(problem.byte_offset, Some(1000));
        assert!(
            problem
                .reason
                .starts_with("decompresses to more than 1000 bytes"),
            "{problem:?}"
        );
        let (content, problem) = object.content_with_limit(5000);
        assert_eq!((content.len(), problem), (5000, None));
    }
}
