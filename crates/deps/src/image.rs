//! Container images: a `docker save` tarball or an OCI image layout (a
//! directory or a tarball of one), inventoried without running anything.
//!
//! The layers of the (first) image are applied in order, honouring
//! whiteouts (`.wh.<name>` deletes, `.wh..wh..opq` hides everything below
//! a directory from lower layers), but only for the files palisade reads:
//! `/etc/os-release` (or `/usr/lib/os-release`), the dpkg status database
//! (`/var/lib/dpkg/status` and distroless `status.d/`), apk's
//! `/lib/apk/db/installed`, rpm's database (`rpmdb.sqlite` or Berkeley DB
//! `Packages`), and language lockfiles
//! anywhere outside `node_modules`. Layers may be uncompressed, gzip or
//! zstd. Nothing is ever written to disk.
//!
//! Parts palisade knowingly does not scan (OS packages of a distribution
//! OSV has no advisories for, ndb RPM databases) are warnings
//! ([`ImageInventory::warnings`]), not errors: the rest of the image is
//! judged and its findings resolve normally.
//!
//! Hostile archives: entries whose path contains `..` are ignored (and
//! counted), symlinks are resolved lexically inside the image root and never
//! followed on the host, every file read is bounded, every layer's
//! decompressed size is bounded (decompression bombs stop with an error for
//! that layer and the scan goes on with the next), and the number of entries
//! is bounded.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use palisade_core::ScanError;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};
use crate::lockfile::{self, LockfileKind};

/// Bounds on what reading an image may cost.
#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    /// Largest file read from a layer (status databases, lockfiles).
    pub max_file_bytes: u64,
    /// Most bytes decompressed from one layer.
    pub max_layer_bytes: u64,
    /// Most entries in the outer archive or in one layer.
    pub max_entries: usize,
    /// Largest manifest, index or config JSON.
    pub max_json_bytes: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_layer_bytes: 16 * 1024 * 1024 * 1024,
            max_entries: 2_000_000,
            max_json_bytes: 16 * 1024 * 1024,
        }
    }
}

/// The operating system of an image, from its os-release file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsRelease {
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
}

impl OsRelease {
    /// The ecosystem advisories for its packages are filed under.
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        match self.id.as_str() {
            "debian" => {
                let major = self.version_id.split('.').next().unwrap_or("");
                Some(Ecosystem::Debian(
                    Some(major.to_string()).filter(|m| !m.is_empty()),
                ))
            }
            "alpine" => {
                let mut parts = self.version_id.split('.');
                match (parts.next(), parts.next()) {
                    (Some(major), Some(minor)) => {
                        Some(Ecosystem::Alpine(Some(format!("v{major}.{minor}"))))
                    }
                    _ => Some(Ecosystem::Alpine(None)),
                }
            }
            "ubuntu" => Some(Ecosystem::Ubuntu(
                Some(self.version_id.clone())
                    .filter(|v| !v.is_empty())
                    .map(|v| crate::inventory::ubuntu_release(&v)),
            )),
            "almalinux" => Some(Ecosystem::AlmaLinux(self.major())),
            "rocky" => Some(Ecosystem::RockyLinux(self.major())),
            _ => None,
        }
    }

    fn major(&self) -> Option<String> {
        let major = self.version_id.split('.').next().unwrap_or("");
        Some(major.to_string()).filter(|m| !m.is_empty())
    }

    /// The ecosystem of the image's RPM packages: one with OSV advisories
    /// (AlmaLinux, Rocky Linux), else an inventory-only one (`fedora-39`).
    fn rpm_ecosystem(&self) -> Ecosystem {
        match self.ecosystem() {
            Some(e @ (Ecosystem::AlmaLinux(_) | Ecosystem::RockyLinux(_))) => e,
            _ if self.version_id.is_empty() => Ecosystem::OtherRpm(self.id.clone()),
            _ => Ecosystem::OtherRpm(format!("{}-{}", self.id, self.version_id)),
        }
    }
}

/// What reading an image found.
#[derive(Debug, Clone, Default)]
pub struct ImageInventory {
    /// The image's name (its first repository tag or reference name), if it has one.
    pub name: Option<String>,
    pub os: Option<OsRelease>,
    pub layers: usize,
    pub packages: Vec<Package>,
    /// Problems with single layers or files; the rest was read.
    pub errors: Vec<ScanError>,
    /// Parts knowingly not scanned (OS packages of a distribution without
    /// advisories, an RPM database format not read): the run stays complete.
    pub warnings: Vec<ScanError>,
    /// The in-image paths of the databases and lockfiles read.
    pub files: Vec<String>,
}

/// Whether `path` looks like an image: a tarball or an OCI layout directory.
pub fn looks_like_image(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("oci-layout").is_file() || path.join("index.json").is_file();
    }
    path.extension().is_some_and(|e| e == "tar")
}

/// Where the image's files are: a directory, or a tarball indexed by entry name.
enum Source {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
    },
}

impl Source {
    fn open(path: &Path, limits: &ImageLimits) -> Result<Source> {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Ok(Source::Dir(path.to_path_buf()));
        }
        let file = File::open(path).map_err(|e| Error::io(&shown, e))?;
        let mut archive = tar::Archive::new(BufReader::new(file));
        let mut entries = HashMap::new();
        let iter = archive
            .entries_with_seek()
            .map_err(|e| archive_error(&shown, e))?;
        for entry in iter {
            let entry = entry.map_err(|e| archive_error(&shown, e))?;
            if entries.len() >= limits.max_entries {
                return Err(Error::TooLarge {
                    path: shown,
                    what: "image archive entry count".into(),
                    limit: limits.max_entries as u64,
                });
            }
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(name) = clean_path(&name) else {
                continue;
            };
            entries.insert(name, (entry.raw_file_position(), entry.size()));
        }
        Ok(Source::Tar {
            path: path.to_path_buf(),
            entries,
        })
    }

    fn exists(&self, name: &str) -> bool {
        match self {
            Source::Dir(root) => clean_path(name).is_some_and(|n| root.join(n).is_file()),
            Source::Tar { entries, .. } => {
                clean_path(name).is_some_and(|n| entries.contains_key(&n))
            }
        }
    }

    fn reader(&self, name: &str) -> Result<Box<dyn Read>> {
        let clean = clean_path(name).ok_or_else(|| Error::Archive {
            path: name.to_string(),
            message: "path leaves the image".into(),
        })?;
        match self {
            Source::Dir(root) => {
                let path = root.join(&clean);
                let file =
                    File::open(&path).map_err(|e| Error::io(&path.display().to_string(), e))?;
                Ok(Box::new(BufReader::new(file)))
            }
            Source::Tar { path, entries } => {
                let shown = path.display().to_string();
                let &(offset, size) = entries.get(&clean).ok_or_else(|| Error::Archive {
                    path: shown.clone(),
                    message: format!("no entry `{clean}`"),
                })?;
                let mut file = File::open(path).map_err(|e| Error::io(&shown, e))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(&shown, e))?;
                Ok(Box::new(BufReader::new(file).take(size)))
            }
        }
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str, limit: u64) -> Result<T> {
        let mut bytes = Vec::new();
        self.reader(name)?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(name, e))?;
        if bytes.len() as u64 > limit {
            return Err(Error::TooLarge {
                path: name.to_string(),
                what: "image metadata".into(),
                limit,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::parse(name, e))
    }
}

fn archive_error(path: &str, error: std::io::Error) -> Error {
    Error::Archive {
        path: path.to_string(),
        message: format!("not a readable tar archive: {error}"),
    }
}

/// A path inside an archive without `./`, leading `/` or empty parts;
/// `None` when it contains `..`.
fn clean_path(name: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Resolves `target` (a symlink's target, found at `link`) inside the image
/// root: absolute targets start at the root, `..` never goes above it.
fn resolve_link(link: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut parent: Vec<&str> = link.split('/').collect();
        parent.pop();
        parent
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciIndex {
    manifests: Vec<OciDescriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciDescriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciManifest {
    #[serde(default)]
    manifests: Option<Vec<OciDescriptor>>,
    #[serde(default)]
    layers: Vec<OciDescriptor>,
}

fn blob_path(digest: &str) -> Result<String> {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("", ""));
    if !matches!(algorithm, "sha256" | "sha512")
        || hex.is_empty()
        || !hex.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return Err(Error::parse(digest, "not a content digest"));
    }
    Ok(format!("blobs/{algorithm}/{hex}"))
}

/// The image name and its layers (entry names inside the source), bottom first.
fn layers_of(source: &Source, limits: &ImageLimits) -> Result<(Option<String>, Vec<String>)> {
    if source.exists("manifest.json") {
        let manifests: Vec<DockerManifest> =
            source.read_json("manifest.json", limits.max_json_bytes)?;
        let first = manifests
            .into_iter()
            .next()
            .ok_or_else(|| Error::parse("manifest.json", "no image in the archive"))?;
        let name = first.repo_tags.and_then(|tags| tags.into_iter().next());
        return Ok((name, first.layers));
    }
    if source.exists("index.json") {
        let index: OciIndex = source.read_json("index.json", limits.max_json_bytes)?;
        let first = index
            .manifests
            .into_iter()
            .next()
            .ok_or_else(|| Error::parse("index.json", "no manifest in the index"))?;
        let name = first
            .annotations
            .get("org.opencontainers.image.ref.name")
            .cloned();
        let mut manifest: OciManifest =
            source.read_json(&blob_path(&first.digest)?, limits.max_json_bytes)?;
        // A multi-platform index: take its first image manifest.
        if let Some(nested) = manifest.manifests.take() {
            let chosen = nested
                .into_iter()
                .find(|m| !m.media_type.contains("index"))
                .ok_or_else(|| Error::parse("index.json", "no image manifest in the index"))?;
            manifest = source.read_json(&blob_path(&chosen.digest)?, limits.max_json_bytes)?;
        }
        let layers = manifest
            .layers
            .iter()
            .map(|l| blob_path(&l.digest))
            .collect::<Result<Vec<_>>>()?;
        return Ok((name, layers));
    }
    Err(Error::Unsupported {
        path: "image".into(),
        what: "image format: neither manifest.json (docker save) nor index.json (OCI layout)"
            .into(),
    })
}

/// A reader that fails once more than `limit` bytes have come through.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(format!(
                "decompressed layer is larger than the {}-byte limit",
                self.limit
            )));
        }
        Ok(n)
    }
}

/// A file palisade reads, as the layers leave it.
#[derive(Debug, Clone)]
enum Node {
    File { content: Vec<u8>, layer: usize },
    Link { target: String, layer: usize },
}

impl Node {
    fn layer(&self) -> usize {
        match self {
            Node::File { layer, .. } | Node::Link { layer, .. } => *layer,
        }
    }
}

const OS_RELEASE: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];
const DPKG_STATUS: &str = "var/lib/dpkg/status";
const DPKG_STATUS_DIR: &str = "var/lib/dpkg/status.d/";
const APK_INSTALLED: &str = "lib/apk/db/installed";
/// rpm's databases, newest location and format first: SQLite (rpm 4.16+)
/// and Berkeley DB (older rpm), both read.
const RPM_DATABASES: [&str; 3] = [
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages",
];
/// ndb databases (SUSE): reported as not supported.
const RPM_UNSUPPORTED: [&str; 2] = [
    "usr/lib/sysimage/rpm/Packages.db",
    "var/lib/rpm/Packages.db",
];

fn is_interesting(path: &str) -> bool {
    if OS_RELEASE.contains(&path) || path == DPKG_STATUS || path == APK_INSTALLED {
        return true;
    }
    if RPM_DATABASES.contains(&path) || RPM_UNSUPPORTED.contains(&path) {
        return true;
    }
    if let Some(name) = path.strip_prefix(DPKG_STATUS_DIR) {
        return !name.contains('/') && !name.ends_with(".md5sums");
    }
    if path.split('/').any(|p| p == "node_modules") {
        return false;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    LockfileKind::from_file_name(name).is_some()
}

/// Applies one layer's entries to `files`.
fn apply_layer(
    reader: Box<dyn Read>,
    index: usize,
    limits: &ImageLimits,
    files: &mut BTreeMap<String, Node>,
    traversals: &mut usize,
) -> std::result::Result<(), String> {
    let mut reader = BufReader::new(reader);
    let magic = {
        use std::io::BufRead;
        reader.fill_buf().map_err(|e| e.to_string())?.to_vec()
    };
    let decompressed: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        // OCI `application/vnd.oci.image.layer.v1.tar+zstd`.
        Box::new(zstd::stream::read::Decoder::with_buffer(reader).map_err(|e| e.to_string())?)
    } else {
        Box::new(reader)
    };
    let bounded = Bounded {
        inner: decompressed,
        read: 0,
        limit: limits.max_layer_bytes,
    };
    let mut archive = tar::Archive::new(bounded);
    let entries = archive.entries().map_err(|e| e.to_string())?;
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            return Err(format!("more than {} entries", limits.max_entries));
        }
        let mut entry = entry.map_err(|e| e.to_string())?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = clean_path(&raw) else {
            *traversals += 1;
            continue;
        };
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (format!("{dir}/"), name),
            None => (String::new(), path.as_str()),
        };
        if name == ".wh..wh..opq" {
            files.retain(|p, node| !(p.starts_with(&dir) && node.layer() < index));
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let target = format!("{dir}{hidden}");
            let below = format!("{target}/");
            files.retain(|p, _| *p != target && !p.starts_with(&below));
            continue;
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        // Anything written over a path replaces what lower layers had there.
        files.remove(&path);
        if !is_interesting(&path) {
            continue;
        }
        if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            files.insert(
                path,
                Node::Link {
                    target,
                    layer: index,
                },
            );
        } else if kind.is_file() {
            if entry.size() > limits.max_file_bytes {
                return Err(format!(
                    "/{path}: larger than the {}-byte limit",
                    limits.max_file_bytes
                ));
            }
            let mut content = Vec::new();
            (&mut entry)
                .take(limits.max_file_bytes + 1)
                .read_to_end(&mut content)
                .map_err(|e| e.to_string())?;
            files.insert(
                path,
                Node::File {
                    content,
                    layer: index,
                },
            );
        }
    }
    Ok(())
}

/// Follows symlinks (inside the image) to a file's content.
fn content_of<'a>(files: &'a BTreeMap<String, Node>, path: &str) -> Option<(&'a [u8], usize)> {
    let mut current = path.to_string();
    for _ in 0..8 {
        match files.get(&current)? {
            Node::File { content, layer } => return Some((content, *layer)),
            Node::Link { target, .. } => current = resolve_link(&current, target),
        }
    }
    None
}

/// Reads an image and inventories its OS and language packages.
pub fn inventory_image(path: &Path, limits: &ImageLimits) -> Result<ImageInventory> {
    let shown = path.display().to_string();
    let source = Source::open(path, limits)?;
    let (name, layers) = layers_of(&source, limits).map_err(|e| match e {
        Error::Unsupported { what, .. } => Error::Unsupported {
            path: shown.clone(),
            what,
        },
        other => other,
    })?;
    let mut inventory = ImageInventory {
        name,
        layers: layers.len(),
        ..ImageInventory::default()
    };
    let mut files = BTreeMap::new();
    let mut traversals = 0;
    let layer_names: Vec<String> = layers.iter().map(|l| layer_label(l)).collect();
    for (index, layer) in layers.iter().enumerate() {
        let result = source
            .reader(layer)
            .map_err(|e| e.to_string())
            .and_then(|reader| apply_layer(reader, index, limits, &mut files, &mut traversals));
        if let Err(message) = result {
            inventory.errors.push(ScanError {
                path: format!("{shown}: layer {} ({})", index + 1, layer_names[index]),
                line: None,
                message,
            });
        }
    }
    if traversals > 0 {
        inventory.errors.push(ScanError {
            path: shown.clone(),
            line: None,
            message: format!("{traversals} layer entries with `..` in their path were ignored"),
        });
    }
    let label = |layer: usize| {
        format!(
            "layer {} ({})",
            layer + 1,
            layer_names.get(layer).map_or("?", String::as_str)
        )
    };

    inventory.os = OS_RELEASE.iter().find_map(|p| {
        content_of(&files, p)
            .map(|(content, _)| parse_os_release(&String::from_utf8_lossy(content)))
    });
    let os_ecosystem = inventory.os.as_ref().and_then(OsRelease::ecosystem);

    let os_name = inventory
        .os
        .as_ref()
        .map_or("an image without os-release".to_string(), |o| {
            o.pretty_name.clone()
        });
    let mut dpkg_files: Vec<String> = files
        .keys()
        .filter(|p| *p == DPKG_STATUS || p.starts_with(DPKG_STATUS_DIR))
        .cloned()
        .collect();
    dpkg_files.sort();
    for (path, parse) in dpkg_files
        .iter()
        .map(|p| {
            (
                p.as_str(),
                parse_dpkg_status as fn(&str, &str, &Ecosystem) -> Vec<Package>,
            )
        })
        .chain(files.contains_key(APK_INSTALLED).then_some((
            APK_INSTALLED,
            parse_apk_installed as fn(&str, &str, &Ecosystem) -> Vec<Package>,
        )))
    {
        let Some((content, layer)) = content_of(&files, path) else {
            continue;
        };
        let shown_path = format!("/{path}");
        inventory.files.push(shown_path.clone());
        let is_apk = path == APK_INSTALLED;
        let ecosystem = match &os_ecosystem {
            Some(e @ (Ecosystem::Debian(_) | Ecosystem::Ubuntu(_))) if !is_apk => e.clone(),
            Some(e @ Ecosystem::Alpine(_)) if is_apk => e.clone(),
            _ => {
                inventory.warnings.push(ScanError::unsupported(
                    shown_path,
                    format!(
                        "OS packages of {os_name} are not matched: {} advisories are read \
                         for Debian, Ubuntu and Alpine",
                        if is_apk { "apk" } else { "dpkg" }
                    ),
                ));
                continue;
            }
        };
        let text = String::from_utf8_lossy(content);
        for mut package in parse(&shown_path, &text, &ecosystem) {
            package.layer = Some(label(layer));
            inventory.packages.push(package);
        }
    }
    // One RPM database per image: the first of rpm's locations present.
    if let Some(path) = RPM_DATABASES.iter().find(|p| files.contains_key(**p)) {
        if let Some((content, layer)) = content_of(&files, path) {
            let shown_path = format!("/{path}");
            inventory.files.push(shown_path.clone());
            let read = if path.ends_with(".sqlite") {
                crate::rpmdb::read_sqlite(&shown_path, content)
            } else {
                crate::rpmdb::read_berkeley_db(&shown_path, content)
            };
            match read {
                Ok((rpms, malformed)) => {
                    if malformed > 0 {
                        inventory.errors.push(ScanError {
                            path: shown_path.clone(),
                            line: None,
                            message: format!("{malformed} unreadable package headers skipped"),
                        });
                    }
                    let ecosystem = inventory
                        .os
                        .as_ref()
                        .map_or(Ecosystem::OtherRpm("rpm".into()), OsRelease::rpm_ecosystem);
                    if let Ecosystem::OtherRpm(_) = ecosystem {
                        inventory.warnings.push(ScanError::unsupported(
                            shown_path.clone(),
                            format!(
                                "OS packages of {os_name} are inventoried (SBOM) but not \
                                 matched: OSV publishes RPM advisories for AlmaLinux and Rocky \
                                 Linux only"
                            ),
                        ));
                    }
                    for rpm in rpms {
                        let mut package = Package::new(
                            ecosystem.clone(),
                            rpm.name.clone(),
                            rpm.full_version(),
                            shown_path.clone(),
                        );
                        package.layer = Some(label(layer));
                        inventory.packages.push(package);
                    }
                }
                Err(error) => inventory
                    .errors
                    .push(lockfile::scan_error(&shown_path, error)),
            }
        }
    } else if let Some(path) = RPM_UNSUPPORTED.iter().find(|p| files.contains_key(**p)) {
        inventory.warnings.push(ScanError::unsupported(
            format!("/{path}"),
            format!(
                "the RPM database of {os_name} is in the ndb format, which palisade does \
                 not read: its OS packages are not inventoried"
            ),
        ));
    }
    for (path, node) in &files {
        let name = path.rsplit('/').next().unwrap_or(path);
        let Some(kind) = LockfileKind::from_file_name(name) else {
            continue;
        };
        let Node::File { content, layer } = node else {
            continue;
        };
        let shown_path = format!("/{path}");
        inventory.files.push(shown_path.clone());
        let text = String::from_utf8_lossy(content);
        match lockfile::parse(kind, &shown_path, &text, &mut |_, _| None) {
            Ok(packages) => inventory.packages.extend(packages.into_iter().map(|mut p| {
                p.layer = Some(label(*layer));
                p
            })),
            Err(error) => inventory
                .errors
                .push(lockfile::scan_error(&shown_path, error)),
        }
    }
    Ok(inventory)
}

/// `sha256:0123456789ab` for a layer named by its digest, else its entry name.
fn layer_label(layer: &str) -> String {
    let hex = layer
        .strip_prefix("blobs/sha256/")
        .or_else(|| layer.strip_suffix("/layer.tar"))
        .unwrap_or(layer);
    if hex.len() >= 12 && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        format!("sha256:{}", &hex[..12])
    } else {
        layer.to_string()
    }
}

/// Parses `/etc/os-release` (`KEY=value`, values optionally quoted).
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut os = OsRelease {
        id: String::new(),
        version_id: String::new(),
        pretty_name: String::new(),
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']).to_string();
        match key.trim() {
            "ID" => os.id = value,
            "VERSION_ID" => os.version_id = value,
            "PRETTY_NAME" => os.pretty_name = value,
            _ => {}
        }
    }
    if os.pretty_name.is_empty() {
        os.pretty_name = format!("{} {}", os.id, os.version_id);
    }
    os
}

/// Parses a dpkg status database: installed packages, with the source
/// package advisories are filed under (`Source: openssl (3.0.11-1)`).
pub fn parse_dpkg_status(path: &str, text: &str, ecosystem: &Ecosystem) -> Vec<Package> {
    let mut out = Vec::new();
    let mut line_number = 0u32;
    for paragraph in text.split("\n\n") {
        let start = line_number + 1;
        line_number += u32::try_from(paragraph.lines().count()).unwrap_or(0) + 1;
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for line in paragraph.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                fields.insert(key.trim(), value.trim());
            }
        }
        let (Some(name), Some(version)) = (fields.get("Package"), fields.get("Version")) else {
            continue;
        };
        // Distroless status.d files have no Status field: they list installed packages only.
        if fields
            .get("Status")
            .is_some_and(|s| !s.ends_with(" installed"))
        {
            continue;
        }
        let mut package = Package::new(ecosystem.clone(), *name, *version, path).at_line(start);
        if let Some(source) = fields.get("Source") {
            let source_name = source.split_whitespace().next().unwrap_or(source);
            package.source_package = Some(source_name.to_string());
        }
        out.push(package);
    }
    out
}

/// Parses apk's installed database (`P:` name, `V:` version, `o:` origin).
pub fn parse_apk_installed(path: &str, text: &str, ecosystem: &Ecosystem) -> Vec<Package> {
    let mut out = Vec::new();
    let mut line_number = 0u32;
    for paragraph in text.split("\n\n") {
        let start = line_number + 1;
        line_number += u32::try_from(paragraph.lines().count()).unwrap_or(0) + 1;
        let mut name = None;
        let mut version = None;
        let mut origin = None;
        for line in paragraph.lines() {
            if let Some(v) = line.strip_prefix("P:") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("V:") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("o:") {
                origin = Some(v.trim());
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        let mut package = Package::new(ecosystem.clone(), name, version, path).at_line(start);
        package.source_package = origin.map(str::to_string);
        out.push(package);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_leave_the_image_root() {
        assert_eq!(
            clean_path("./etc/os-release").as_deref(),
            Some("etc/os-release")
        );
        assert_eq!(
            clean_path("/etc//os-release").as_deref(),
            Some("etc/os-release")
        );
        assert_eq!(clean_path("../../etc/passwd"), None);
        assert_eq!(clean_path("a/../../b"), None);
        assert_eq!(
            resolve_link("etc/os-release", "../usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(
            resolve_link("etc/os-release", "/usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(
            resolve_link("etc/x", "../../../../../../host/secret"),
            "host/secret"
        );
    }

    #[test]
    fn os_release_picks_the_advisory_ecosystem() {
        let debian = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        );
        assert_eq!(
            debian.ecosystem().map(|e| e.osv_name()).as_deref(),
            Some("Debian:12")
        );
        let alpine = parse_os_release("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n");
        assert_eq!(
            alpine.ecosystem().map(|e| e.osv_name()).as_deref(),
            Some("Alpine:v3.19")
        );
        let ubuntu = |version: &str| {
            parse_os_release(&format!("ID=ubuntu\nVERSION_ID=\"{version}\"\n"))
                .ecosystem()
                .map(|e| e.osv_name())
        };
        // OSV's names: LTS releases carry `:LTS`.
        assert_eq!(ubuntu("22.04").as_deref(), Some("Ubuntu:22.04:LTS"));
        assert_eq!(ubuntu("24.10").as_deref(), Some("Ubuntu:24.10"));
        assert_eq!(ubuntu("23.04").as_deref(), Some("Ubuntu:23.04"));
        let alma = parse_os_release("ID=\"almalinux\"\nVERSION_ID=\"9.3\"\n");
        assert_eq!(
            alma.ecosystem().map(|e| e.osv_name()).as_deref(),
            Some("AlmaLinux:9")
        );
        let fedora = parse_os_release("ID=fedora\nVERSION_ID=39\n");
        assert_eq!(fedora.ecosystem(), None);
        assert_eq!(
            fedora.rpm_ecosystem(),
            Ecosystem::OtherRpm("fedora-39".into())
        );
        assert_eq!(
            parse_os_release("ID=\"rocky\"\nVERSION_ID=\"9.2\"\n").rpm_ecosystem(),
            Ecosystem::RockyLinux(Some("9".into()))
        );
    }
}
