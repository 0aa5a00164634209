//! RPM databases: the SQLite `rpmdb.sqlite` of rpm 4.16+ (RHEL/AlmaLinux/
//! Rocky 9, Fedora 33+, Amazon Linux 2023), read from memory (never written
//! to disk), and the header blobs it stores.
//!
//! Each row of its `Packages` table is one installed package's header: a
//! big-endian index of `(tag, type, offset, count)` entries and a data
//! store (rpm's `headerImport` format, without the magic). Only the tags
//! that identify a package are read: name, epoch, version, release, arch
//! and source RPM. The older Berkeley DB (`/var/lib/rpm/Packages`) and ndb
//! (`Packages.db`) formats are not read.

use rusqlite::{Connection, OpenFlags, MAIN_DB};

use crate::error::{Error, Result};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// Most index entries one header may declare (rpm's own limit is 0xffff).
const MAX_INDEX_ENTRIES: usize = 0x1_0000;

/// One installed RPM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    pub arch: Option<String>,
    /// The source RPM's package name (`openssl` for `openssl-3.0.7-24.el9.src.rpm`).
    pub source_name: Option<String>,
}

impl RpmPackage {
    /// `[epoch:]version-release`, as advisories write fixed versions.
    pub fn full_version(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([slice[0], slice[1], slice[2], slice[3]]))
}

/// Parses one header blob; `None` when it is malformed or lacks a name or version.
pub fn parse_header(blob: &[u8]) -> Option<RpmPackage> {
    let entries = usize::try_from(be32(blob, 0)?).ok()?;
    let data_len = usize::try_from(be32(blob, 4)?).ok()?;
    if entries > MAX_INDEX_ENTRIES {
        return None;
    }
    let data_start = 8usize.checked_add(entries.checked_mul(16)?)?;
    let data = blob.get(data_start..data_start.checked_add(data_len)?)?;
    let string_at = |offset: usize| -> Option<String> {
        let rest = data.get(offset..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    let mut package = RpmPackage {
        name: String::new(),
        epoch: None,
        version: String::new(),
        release: String::new(),
        arch: None,
        source_name: None,
    };
    for i in 0..entries {
        let at = 8 + i * 16;
        let (tag, kind, offset, count) = (
            be32(blob, at)?,
            be32(blob, at + 4)?,
            usize::try_from(be32(blob, at + 8)?).ok()?,
            be32(blob, at + 12)?,
        );
        let text = || {
            if matches!(kind, TYPE_STRING | TYPE_I18NSTRING) {
                string_at(offset)
            } else {
                None
            }
        };
        match tag {
            TAG_NAME => package.name = text()?,
            TAG_VERSION => package.version = text()?,
            TAG_RELEASE => package.release = text()?,
            TAG_ARCH => package.arch = text(),
            TAG_SOURCERPM => package.source_name = text().and_then(|s| source_name(&s)),
            TAG_EPOCH if kind == TYPE_INT32 && count >= 1 => package.epoch = be32(data, offset),
            _ => {}
        }
    }
    (!package.name.is_empty() && !package.version.is_empty()).then_some(package)
}

/// `openssl` of `openssl-3.0.7-24.el9.src.rpm`: the name before version and release.
fn source_name(source_rpm: &str) -> Option<String> {
    let stem = source_rpm
        .strip_suffix(".rpm")
        .map(|s| {
            s.strip_suffix(".src")
                .or(s.strip_suffix(".nosrc"))
                .unwrap_or(s)
        })
        .unwrap_or(source_rpm);
    let mut parts = stem.rsplitn(3, '-');
    let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(name.to_string()).filter(|n| !n.is_empty())
}

/// Reads the packages of an `rpmdb.sqlite` held in memory (`shown` names
/// it in errors). Malformed headers are counted, not fatal.
pub fn read_sqlite(shown: &str, bytes: &[u8]) -> Result<(Vec<RpmPackage>, usize)> {
    let error =
        |e: rusqlite::Error| Error::parse(shown, format!("not a readable rpmdb.sqlite: {e}"));
    let mut connection = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(error)?;
    if bytes.len() < 100 || !bytes.starts_with(b"SQLite format 3\0") {
        return Err(Error::parse(shown, "not a SQLite database"));
    }
    // rpm keeps the database in WAL mode, which an in-memory copy cannot
    // open: mark the copy as a rollback-journal database (header bytes 18
    // and 19, the file format versions). The `-wal` file is not read.
    let mut copy = bytes.to_vec();
    copy[18] = 1;
    copy[19] = 1;
    connection
        .deserialize_read_exact(MAIN_DB, copy.as_slice(), copy.len(), true)
        .map_err(error)?;
    let mut statement = connection
        .prepare("SELECT blob FROM Packages")
        .map_err(error)?;
    let mut rows = statement.query([]).map_err(error)?;
    let mut packages = Vec::new();
    let mut malformed = 0;
    while let Some(row) = rows.next().map_err(error)? {
        let blob: Vec<u8> = row.get(0).map_err(error)?;
        match parse_header(&blob) {
            Some(package) => packages.push(package),
            None => malformed += 1,
        }
    }
    Ok((packages, malformed))
}

/// Builds a header blob from `(tag, type, value)` entries: the inverse of
/// [`parse_header`], for tests and fixtures.
#[doc(hidden)]
pub fn build_header(entries: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    let mut count = 0u32;
    if let Some(epoch) = epoch {
        index.extend(TAG_EPOCH.to_be_bytes());
        index.extend(TYPE_INT32.to_be_bytes());
        index.extend((data.len() as u32).to_be_bytes());
        index.extend(1u32.to_be_bytes());
        data.extend(epoch.to_be_bytes());
        count += 1;
    }
    for (tag, value) in entries {
        index.extend(tag.to_be_bytes());
        index.extend(TYPE_STRING.to_be_bytes());
        index.extend((data.len() as u32).to_be_bytes());
        index.extend(1u32.to_be_bytes());
        data.extend(value.as_bytes());
        data.push(0);
        count += 1;
    }
    let mut blob = Vec::new();
    blob.extend(count.to_be_bytes());
    blob.extend((data.len() as u32).to_be_bytes());
    blob.extend(index);
    blob.extend(data);
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_give_name_epoch_version_release_and_source() {
        let blob = build_header(
            &[
                (TAG_NAME, "openssl-libs"),
                (TAG_VERSION, "3.0.7"),
                (TAG_RELEASE, "24.el9"),
                (TAG_ARCH, "x86_64"),
                (TAG_SOURCERPM, "openssl-3.0.7-24.el9.src.rpm"),
            ],
            Some(1),
        );
        let package = parse_header(&blob).expect("header");
        assert_eq!(package.name, "openssl-libs");
        assert_eq!(package.full_version(), "1:3.0.7-24.el9");
        assert_eq!(package.arch.as_deref(), Some("x86_64"));
        assert_eq!(package.source_name.as_deref(), Some("openssl"));
    }

    #[test]
    fn malformed_headers_are_refused_without_panicking() {
        let blob = build_header(&[(TAG_NAME, "a"), (TAG_VERSION, "1")], None);
        for cut in 0..blob.len() {
            let _ = parse_header(&blob[..cut]);
        }
        assert_eq!(parse_header(&[0xff; 8]), None);
        let mut huge = blob.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(parse_header(&huge), None);
        assert_eq!(parse_header(&build_header(&[(TAG_NAME, "a")], None)), None);
    }

    #[test]
    fn source_names_drop_version_and_release() {
        assert_eq!(
            source_name("python3.11-3.11.5-1.el9_3.src.rpm").as_deref(),
            Some("python3.11")
        );
        assert_eq!(
            source_name("glibc-2.34-60.el9.src.rpm").as_deref(),
            Some("glibc")
        );
        assert_eq!(source_name("nope"), None);
    }

    #[test]
    fn sqlite_databases_that_are_not_are_an_error() {
        assert!(read_sqlite("rpmdb.sqlite", b"not a database at all").is_err());
    }
}
