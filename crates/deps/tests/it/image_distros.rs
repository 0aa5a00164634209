//! Images of the distributions beyond Debian and Alpine, built in the test:
//! Ubuntu (dpkg, in a zstd layer), AlmaLinux and Fedora (rpmdb.sqlite, in
//! WAL mode as rpm leaves it) and CentOS 7 (a Berkeley DB rpm database:
//! `fixtures/rpmdb/Packages`, written by Berkeley DB 5.3's `db_load` with
//! 512-byte pages so the headers sit in overflow page chains), each with
//! the packages, findings and warnings it must give.

use std::path::{Path, PathBuf};

use palisade_core::FindingDetails;
use palisade_deps::image::{inventory_image, ImageInventory, ImageLimits};
use palisade_deps::matching::{match_packages, AdvisoryIndex, Exploitation};
use palisade_deps::osv::{read_records, ReadLimits};
use palisade_deps::rpmdb::build_header;

use crate::fixtures;

/// A tar of `(path, content)` files.
fn layer(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(content.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, content.as_slice())
            .expect("append");
    }
    builder.into_inner().expect("finish")
}

/// An OCI layout of one image with `layers` (already compressed as `media_type` says).
fn oci_layout(dir: &Path, layers: &[(&str, Vec<u8>)]) -> PathBuf {
    let root = dir.join("oci");
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write");
    let mut descriptors = Vec::new();
    for (i, (media_type, data)) in layers.iter().enumerate() {
        let digest = String::from_utf8(vec![b'a' + i as u8; 64]).expect("ascii");
        std::fs::write(blobs.join(&digest), data).expect("blob");
        descriptors.push(serde_json::json!({
            "mediaType": media_type,
            "digest": format!("sha256:{digest}"),
            "size": data.len(),
        }));
    }
    let manifest = serde_json::json!({"schemaVersion": 2, "layers": descriptors}).to_string();
    let manifest_digest = "9".repeat(64);
    std::fs::write(blobs.join(&manifest_digest), &manifest).expect("manifest");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "distro:1"},
        }],
    })
    .to_string();
    std::fs::write(root.join("index.json"), index).expect("index");
    root
}

/// An rpm 4.16+ database holding `packages` (`name, epoch, version, release, source rpm`).
fn rpmdb(dir: &Path, packages: &[(&str, Option<u32>, &str, &str, &str)]) -> Vec<u8> {
    let path = dir.join("rpmdb.sqlite");
    let connection = rusqlite::Connection::open(&path).expect("sqlite");
    // rpm's schema and journal mode.
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL);",
        )
        .expect("schema");
    for (name, epoch, version, release, source) in packages {
        let blob = build_header(
            &[
                (1000, name),
                (1001, version),
                (1002, release),
                (1022, "x86_64"),
                (1044, source),
            ],
            *epoch,
        );
        connection
            .execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
            .expect("insert");
    }
    // A header rpm itself could not have written: counted, not fatal.
    connection
        .execute("INSERT INTO Packages (blob) VALUES (x'00000001')", [])
        .expect("insert");
    connection
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    drop(connection);
    let bytes = std::fs::read(&path).expect("read");
    assert_eq!(bytes[18], 2, "rpm's databases are in WAL mode");
    bytes
}

fn index() -> AdvisoryIndex {
    let mut index = AdvisoryIndex::default();
    read_records(
        &fixtures().join("osv-distro"),
        &ReadLimits::default(),
        &mut |raw| index.insert(raw.record),
    )
    .expect("advisories");
    index
}

fn packages(inventory: &ImageInventory) -> Vec<String> {
    let mut out: Vec<String> = inventory
        .packages
        .iter()
        .map(|p| format!("{} {} {} {}", p.ecosystem, p.name, p.version, p.purl()))
        .collect();
    out.sort();
    out
}

fn findings(inventory: &ImageInventory) -> Vec<String> {
    let output = match_packages(&inventory.packages, &index(), &Exploitation::default());
    let mut out: Vec<String> = output
        .findings
        .iter()
        .map(|f| {
            let Some(FindingDetails::Vulnerability(d)) = &f.details else {
                panic!("no details");
            };
            format!(
                "{} {} {} {} {}",
                d.package,
                d.installed_version,
                d.advisory_ids.join(","),
                f.severity,
                d.fixed_versions.join(",")
            )
        })
        .collect();
    out.sort();
    out
}

const UBUNTU_STATUS: &str = "Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.2-0ubuntu1.10

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.0.2-0ubuntu1.12
";

#[test]
fn an_ubuntu_image_in_a_zstd_layer_is_matched_by_source_package() {
    let dir = tempfile::tempdir().expect("dir");
    let files = layer(&[
        (
            "etc/os-release",
            b"PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nID=ubuntu\nVERSION_ID=\"22.04\"\n".to_vec(),
        ),
        ("var/lib/dpkg/status", UBUNTU_STATUS.as_bytes().to_vec()),
    ]);
    let zstd = zstd::encode_all(files.as_slice(), 3).expect("zstd");
    let image = oci_layout(
        dir.path(),
        &[("application/vnd.oci.image.layer.v1.tar+zstd", zstd)],
    );
    let inventory = inventory_image(&image, &ImageLimits::default()).expect("image");
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    assert!(inventory.warnings.is_empty(), "{:?}", inventory.warnings);
    assert_eq!(
        packages(&inventory),
        vec![
            "Ubuntu:22.04:LTS libssl3 3.0.2-0ubuntu1.10 pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.10?distro=ubuntu-22.04",
            "Ubuntu:22.04:LTS openssl 3.0.2-0ubuntu1.12 pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.12?distro=ubuntu-22.04",
        ]
    );
    // openssl itself is at the fixed version; libssl3 (source openssl) is not.
    assert_eq!(
        findings(&inventory),
        vec!["libssl3 3.0.2-0ubuntu1.10 CVE-2023-5363,UBUNTU-CVE-2023-5363 high 3.0.2-0ubuntu1.12"]
    );
}

#[test]
fn an_almalinux_image_is_read_from_rpmdb_sqlite_and_matched_with_epochs() {
    let dir = tempfile::tempdir().expect("dir");
    let db = rpmdb(
        dir.path(),
        &[
            (
                "openssl-libs",
                Some(1),
                "3.0.7",
                "24.el9",
                "openssl-3.0.7-24.el9.src.rpm",
            ),
            (
                "openssl",
                Some(1),
                "3.0.7",
                "25.el9_3",
                "openssl-3.0.7-25.el9_3.src.rpm",
            ),
            (
                "bash",
                None,
                "5.1.8",
                "6.el9_1",
                "bash-5.1.8-6.el9_1.src.rpm",
            ),
        ],
    );
    let files = layer(&[
        (
            "etc/os-release",
            b"NAME=\"AlmaLinux\"\nID=\"almalinux\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"AlmaLinux 9.3 (Shamrock Pampas Cat)\"\n".to_vec(),
        ),
        ("var/lib/rpm/rpmdb.sqlite", db),
    ]);
    let image = oci_layout(
        dir.path(),
        &[("application/vnd.oci.image.layer.v1.tar", files)],
    );
    let inventory = inventory_image(&image, &ImageLimits::default()).expect("image");
    assert!(inventory.warnings.is_empty(), "{:?}", inventory.warnings);
    let errors: Vec<String> = inventory.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        vec!["/var/lib/rpm/rpmdb.sqlite: 1 unreadable package headers skipped"]
    );
    assert_eq!(
        packages(&inventory),
        vec![
            "AlmaLinux:9 bash 5.1.8-6.el9_1 pkg:rpm/almalinux/bash@5.1.8-6.el9_1?distro=almalinux-9",
            "AlmaLinux:9 openssl 1:3.0.7-25.el9_3 pkg:rpm/almalinux/openssl@3.0.7-25.el9_3?distro=almalinux-9&epoch=1",
            "AlmaLinux:9 openssl-libs 1:3.0.7-24.el9 pkg:rpm/almalinux/openssl-libs@3.0.7-24.el9?distro=almalinux-9&epoch=1",
        ]
    );
    assert_eq!(
        findings(&inventory),
        vec!["openssl-libs 1:3.0.7-24.el9 ALSA-2023:7877 low 1:3.0.7-25.el9_3"]
    );
}

#[test]
fn rpm_distributions_without_advisories_are_inventoried_with_a_warning() {
    let dir = tempfile::tempdir().expect("dir");
    let db = rpmdb(
        dir.path(),
        &[("curl", None, "8.2.1", "1.fc39", "curl-8.2.1-1.fc39.src.rpm")],
    );
    let files = layer(&[
        (
            "usr/lib/os-release",
            b"NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME=\"Fedora Linux 39 (Container Image)\"\n".to_vec(),
        ),
        ("etc/os-release", b"ID=fedora\nVERSION_ID=39\nPRETTY_NAME=\"Fedora Linux 39 (Container Image)\"\n".to_vec()),
        ("usr/lib/sysimage/rpm/rpmdb.sqlite", db),
    ]);
    let image = oci_layout(
        dir.path(),
        &[("application/vnd.oci.image.layer.v1.tar", files)],
    );
    let inventory = inventory_image(&image, &ImageLimits::default()).expect("image");
    assert_eq!(
        packages(&inventory),
        vec!["rpm:fedora-39 curl 8.2.1-1.fc39 pkg:rpm/fedora/curl@8.2.1-1.fc39?distro=fedora-39"]
    );
    assert!(findings(&inventory).is_empty());
    assert_eq!(inventory.warnings.len(), 1, "{:?}", inventory.warnings);
    let warning = &inventory.warnings[0];
    assert!(warning.is_unsupported());
    assert_eq!(
        warning.to_string(),
        "/usr/lib/sysimage/rpm/rpmdb.sqlite: not supported: OS packages of Fedora Linux 39 \
         (Container Image) are inventoried (SBOM) but not matched: OSV publishes RPM advisories \
         for AlmaLinux and Rocky Linux only"
    );

    // CentOS 7: a Berkeley DB database, read; no advisories for CentOS.
    let dir = tempfile::tempdir().expect("dir");
    let packages_db = std::fs::read(fixtures().join("rpmdb/Packages")).expect("fixture");
    let files = layer(&[
        (
            "etc/os-release",
            b"ID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n".to_vec(),
        ),
        ("var/lib/rpm/Packages", packages_db),
    ]);
    let image = oci_layout(
        dir.path(),
        &[("application/vnd.oci.image.layer.v1.tar", files)],
    );
    let inventory = inventory_image(&image, &ImageLimits::default()).expect("image");
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    assert_eq!(
        packages(&inventory),
        vec![
            "rpm:centos-7 bash 4.2.46-34.el7 pkg:rpm/centos/bash@4.2.46-34.el7?distro=centos-7",
            "rpm:centos-7 openssl-libs 1:1.0.2k-19.el7 pkg:rpm/centos/openssl-libs@1.0.2k-19.el7?distro=centos-7&epoch=1",
        ]
    );
    assert_eq!(inventory.warnings.len(), 1, "{:?}", inventory.warnings);
    assert!(inventory.warnings[0].is_unsupported());

    // SUSE's ndb format: reported as not read.
    let dir = tempfile::tempdir().expect("dir");
    let files = layer(&[
        (
            "etc/os-release",
            b"ID=\"sles\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\n".to_vec(),
        ),
        ("usr/lib/sysimage/rpm/Packages.db", vec![0u8; 4096]),
    ]);
    let image = oci_layout(
        dir.path(),
        &[("application/vnd.oci.image.layer.v1.tar", files)],
    );
    let inventory = inventory_image(&image, &ImageLimits::default()).expect("image");
    assert!(inventory.packages.is_empty() && inventory.errors.is_empty());
    assert_eq!(
        inventory
            .warnings
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>(),
        vec![
            "/usr/lib/sysimage/rpm/Packages.db: not supported: the RPM database of SUSE Linux \
              Enterprise Server 15 SP5 is in the ndb format, which palisade does not read: its \
              OS packages are not inventoried"
        ]
    );
}

/// Both Berkeley DB layouts (headers in overflow page chains, headers
/// inline in hash pages) read as the same packages.
#[test]
fn berkeley_db_rpm_databases_read_with_overflow_and_inline_values() {
    for file in ["Packages", "Packages-4k"] {
        let bytes = std::fs::read(fixtures().join("rpmdb").join(file)).expect("fixture");
        let (packages, malformed) =
            palisade_deps::rpmdb::read_berkeley_db(file, &bytes).expect("database");
        let mut got: Vec<String> = packages
            .iter()
            .map(|p| {
                format!(
                    "{} {} {} {}",
                    p.name,
                    p.full_version(),
                    p.arch.as_deref().unwrap_or("-"),
                    p.source_name.as_deref().unwrap_or("-")
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                "bash 4.2.46-34.el7 x86_64 bash",
                "openssl-libs 1:1.0.2k-19.el7 x86_64 openssl",
            ],
            "{file}"
        );
        assert_eq!(malformed, 0, "{file}");
    }
}
