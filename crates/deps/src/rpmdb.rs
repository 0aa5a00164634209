//! RPM databases: the SQLite `rpmdb.sqlite` of rpm 4.16+ (RHEL/AlmaLinux/
//! Rocky 9, Fedora 33+, Amazon Linux 2023), read from memory (never written
//! to disk), and the header blobs it stores.
//!
//! Each row of its `Packages` table is one installed package's header: a
//! big-endian index of `(tag, type, offset, count)` entries and a data
//! store (rpm's `headerImport` format, without the magic). Only the tags
//! that identify a package are read: name, epoch, version, release, arch
//! and source RPM.
//!
//! Also the Berkeley DB hash database of older rpm (`/var/lib/rpm/Packages`:
//! RHEL/CentOS 7 and 8, Amazon Linux 2), read page by page from memory
//! without a Berkeley DB library: every value of the hash pages (inline or
//! in overflow page chains) is a header. The ndb format (`Packages.db`,
//! SUSE) is not read.

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

// Berkeley DB page layout (db_page.h): a 26-byte page header, then u16
// item offsets; hash items start with their type byte.
const BDB_HASH_MAGIC: u32 = 0x0006_1561;
const BDB_PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// A Berkeley DB file held in memory, in the byte order it was written in.
struct Bdb<'a> {
    bytes: &'a [u8],
    page_size: usize,
    last_page: usize,
    big_endian: bool,
}

impl<'a> Bdb<'a> {
    fn open(shown: &str, bytes: &'a [u8]) -> Result<Bdb<'a>> {
        let le = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let big_endian = match le(12) {
            Some(BDB_HASH_MAGIC) => false,
            Some(m) if m.swap_bytes() == BDB_HASH_MAGIC => true,
            _ => return Err(Error::parse(shown, "not a Berkeley DB hash database")),
        };
        let mut db = Bdb {
            bytes,
            page_size: 0,
            last_page: 0,
            big_endian,
        };
        let page_size = db.u32_at(20).unwrap_or(0) as usize;
        if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(Error::parse(
                shown,
                format!("Berkeley DB page size {page_size}"),
            ));
        }
        if bytes.get(24).copied().unwrap_or(0) != 0 {
            return Err(Error::parse(shown, "encrypted Berkeley DB database"));
        }
        db.page_size = page_size;
        // Never beyond the bytes there are, whatever the metadata says.
        let last = db.u32_at(32).unwrap_or(0) as usize;
        db.last_page = last.min(bytes.len() / page_size);
        Ok(db)
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.bytes.get(at..at.checked_add(4)?)?;
        let value = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian {
            u32::from_be_bytes(value)
        } else {
            u32::from_le_bytes(value)
        })
    }

    fn u16_at(&self, at: usize) -> Option<usize> {
        let b = self.bytes.get(at..at.checked_add(2)?)?;
        let value = [b[0], b[1]];
        Some(usize::from(if self.big_endian {
            u16::from_be_bytes(value)
        } else {
            u16::from_le_bytes(value)
        }))
    }

    fn page(&self, number: usize) -> Option<&'a [u8]> {
        let start = number.checked_mul(self.page_size)?;
        self.bytes.get(start..start.checked_add(self.page_size)?)
    }

    /// The data of an overflow chain starting at `first`, `length` bytes.
    fn overflow(&self, first: usize, length: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(length.min(self.bytes.len()));
        let mut number = first;
        // Each page at most once: a cycle ends the chain.
        for _ in 0..=self.last_page {
            let page = self.page(number)?;
            let base = number * self.page_size;
            if page[25] != P_OVERFLOW {
                return None;
            }
            let used = self.u16_at(base + 22)?;
            out.extend_from_slice(page.get(BDB_PAGE_HEADER..BDB_PAGE_HEADER.checked_add(used)?)?);
            if out.len() >= length {
                out.truncate(length);
                return Some(out);
            }
            number = self.u32_at(base + 16)? as usize;
            if number == 0 {
                break;
            }
        }
        (out.len() == length).then_some(out)
    }

    /// Every value of every hash page (keys are record numbers), and how
    /// many could not be read.
    fn values(&self) -> (Vec<Vec<u8>>, usize) {
        let mut values = Vec::new();
        let mut unreadable = 0;
        for number in 1..=self.last_page {
            let Some(page) = self.page(number) else { break };
            if !matches!(page[25], P_HASH | P_HASH_UNSORTED) {
                continue;
            }
            let base = number * self.page_size;
            let entries = self.u16_at(base + 20).unwrap_or(0);
            let offset = |i: usize| self.u16_at(base + BDB_PAGE_HEADER + 2 * i);
            for index in (1..entries).step_by(2) {
                let value = offset(index).and_then(|at| {
                    let item = page.get(at..)?;
                    match *item.first()? {
                        H_KEYDATA => {
                            // Items fill the page from its end: this one ends where the previous begins.
                            let end = offset(index - 1)?;
                            Some(page.get(at + 1..end)?.to_vec())
                        }
                        H_OFFPAGE => {
                            let first = self.u32_at(base + at + 4)? as usize;
                            let length = self.u32_at(base + at + 8)? as usize;
                            self.overflow(first, length)
                        }
                        _ => None,
                    }
                });
                match value {
                    Some(value) => values.push(value),
                    None => unreadable += 1,
                }
            }
        }
        (values, unreadable)
    }
}

/// Reads the packages of a Berkeley DB `Packages` database held in memory.
/// Unreadable items and malformed headers are counted, not fatal.
pub fn read_berkeley_db(shown: &str, bytes: &[u8]) -> Result<(Vec<RpmPackage>, usize)> {
    let db = Bdb::open(shown, bytes)?;
    let (values, mut malformed) = db.values();
    let mut packages = Vec::new();
    for value in values {
        // Record 0 of rpm's database is its 4-byte instance counter, not a header.
        if value.len() < 8 {
            continue;
        }
        match parse_header(&value) {
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
    fn berkeley_db_files_that_are_not_are_an_error_and_never_panic() {
        assert!(read_berkeley_db("Packages", b"").is_err());
        assert!(read_berkeley_db("Packages", &[0u8; 4096]).is_err());
        let mut fake = vec![0u8; 4096];
        fake[12..16].copy_from_slice(&BDB_HASH_MAGIC.to_le_bytes());
        fake[20..24].copy_from_slice(&512u32.to_le_bytes());
        fake[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        // Every page a hash page claiming many entries at wild offsets.
        for page in 1..8 {
            let base = page * 512;
            fake[base + 25] = P_HASH;
            fake[base + 20..base + 22].copy_from_slice(&200u16.to_le_bytes());
            for i in 0..200 {
                let at = base + BDB_PAGE_HEADER + 2 * i;
                if at + 2 <= base + 512 {
                    fake[at..at + 2].copy_from_slice(&((i * 37) as u16).to_le_bytes());
                }
            }
        }
        let (packages, _) = read_berkeley_db("Packages", &fake).expect("a hash database");
        assert!(packages.is_empty());
    }

    #[test]
    fn sqlite_databases_that_are_not_are_an_error() {
        assert!(read_sqlite("rpmdb.sqlite", b"not a database at all").is_err());
    }
}
