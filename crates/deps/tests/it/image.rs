//! Container images built in the test from files: a `docker save` tarball
//! and an OCI layout, with whiteouts, symlinks, `..` entries and a
//! decompression bomb, each with the inventory and findings it must give.

use std::io::Write;
use std::path::Path;

use palisade_core::FindingDetails;
use palisade_deps::image::{inventory_image, ImageLimits};
use palisade_deps::matching::{match_packages, AdvisoryIndex, Exploitation};
use palisade_deps::osv::{read_records, ReadLimits};

use crate::fixtures;

enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    /// A file whose name is written raw, bypassing the builder's checks.
    RawName(&'a str, &'a [u8]),
}

fn layer(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        match entry {
            Entry::File(path, content) => {
                header.set_size(content.len() as u64);
                header.set_entry_type(tar::EntryType::Regular);
                builder
                    .append_data(&mut header, path, *content)
                    .expect("append");
            }
            Entry::Symlink(path, target) => {
                header.set_size(0);
                header.set_entry_type(tar::EntryType::Symlink);
                builder
                    .append_link(&mut header, path, target)
                    .expect("link");
            }
            Entry::RawName(path, content) => {
                header.set_size(content.len() as u64);
                header.set_entry_type(tar::EntryType::Regular);
                let name = &mut header.as_old_mut().name;
                name[..path.len()].copy_from_slice(path.as_bytes());
                header.set_cksum();
                builder.append(&header, *content).expect("append raw");
            }
        }
    }
    builder.into_inner().expect("finish")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

const OS_RELEASE: &[u8] = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

const DPKG_STATUS: &[u8] = b"Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u1
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime

Package: old-tool
Status: deinstall ok config-files
Architecture: amd64
Version: 0.1-1
";

const PACKAGE_LOCK: &[u8] = br#"{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "": {"dependencies": {"lodash": "^4.17.0"}},
    "node_modules/lodash": {"version": "4.17.20"}
  }
}"#;

/// Three layers: the base system and app (gzip), a layer of whiteouts and
/// hostile entries (plain tar), and a decompression bomb (gzip).
fn layers() -> Vec<Vec<u8>> {
    let base = gzip(&layer(&[
        Entry::Symlink("etc/os-release", "../usr/lib/os-release"),
        Entry::File("usr/lib/os-release", OS_RELEASE),
        Entry::File("var/lib/dpkg/status", DPKG_STATUS),
        Entry::File("app/package-lock.json", PACKAGE_LOCK),
        Entry::File("app/node_modules/x/package-lock.json", PACKAGE_LOCK),
        Entry::File("app/old/requirements.txt", b"PyYAML==5.3.1\n"),
        Entry::File("srv/Gemfile.lock", b"GEM\n  specs:\n    rack (2.2.3)\n"),
    ]));
    let changes = layer(&[
        Entry::File("app/old/.wh.requirements.txt", b""),
        Entry::File("srv/.wh..wh..opq", b""),
        Entry::File(
            "srv/go.mod",
            b"module srv\nrequire golang.org/x/net v0.0.0-20220722155237-a158d28d115b\n",
        ),
        Entry::Symlink("srv/composer.lock", "/../../../../../etc/passwd"),
        Entry::RawName(
            "../../../../tmp/palisade-escape/requirements.txt",
            b"evil==1.0\n",
        ),
    ]);
    let bomb = gzip(&layer(&[Entry::File(
        "big.bin",
        &vec![0u8; 3 * 1024 * 1024],
    )]));
    vec![base, changes, bomb]
}

/// A fake but well-formed sha256 digest: one hex digit 64 times.
fn digest(digit: u8) -> String {
    String::from_utf8(vec![digit; 64]).expect("ascii")
}

fn docker_save(dir: &Path) -> std::path::PathBuf {
    let mut outer = tar::Builder::new(Vec::new());
    let mut names = Vec::new();
    for (i, data) in layers().iter().enumerate() {
        let name = format!("{}/layer.tar", digest(b'a' + i as u8));
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        outer
            .append_data(&mut header, &name, data.as_slice())
            .expect("layer");
        names.push(name);
    }
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": ["registry.example.com/app:1.0"],
        "Layers": names,
    }])
    .to_string();
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    outer
        .append_data(&mut header, "manifest.json", manifest.as_bytes())
        .expect("manifest");
    let path = dir.join("image.tar");
    std::fs::write(&path, outer.into_inner().expect("finish")).expect("write");
    path
}

fn oci_layout(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("oci");
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write");
    let mut descriptors = Vec::new();
    for (i, data) in layers().iter().enumerate() {
        let digest = digest(b'd' + i as u8);
        std::fs::write(blobs.join(&digest), data).expect("blob");
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": format!("sha256:{digest}"),
            "size": data.len(),
        }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "layers": descriptors,
    })
    .to_string();
    let manifest_digest = digest(b'9');
    std::fs::write(blobs.join(&manifest_digest), &manifest).expect("manifest");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "app:1.0"},
        }],
    })
    .to_string();
    std::fs::write(root.join("index.json"), index).expect("index");
    root
}

fn limits() -> ImageLimits {
    ImageLimits {
        max_layer_bytes: 2 * 1024 * 1024,
        ..ImageLimits::default()
    }
}

fn index() -> AdvisoryIndex {
    let mut index = AdvisoryIndex::default();
    for dir in ["osv", "osv-distro"] {
        read_records(&fixtures().join(dir), &ReadLimits::default(), &mut |raw| {
            index.insert(raw.record)
        })
        .expect("advisories");
    }
    index
}

fn check(image: &Path, expected_name: &str, layer_digits: [&str; 2]) {
    let inventory = inventory_image(image, &limits()).expect("image read");
    assert_eq!(inventory.name.as_deref(), Some(expected_name));
    assert_eq!(inventory.layers, 3);
    assert_eq!(
        inventory.os.as_ref().map(|o| o.pretty_name.as_str()),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    let mut packages: Vec<String> = inventory
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {} {}",
                p.ecosystem,
                p.source,
                p.name,
                p.version,
                p.source_package.as_deref().unwrap_or("-")
            )
        })
        .collect();
    packages.sort();
    assert_eq!(
        packages,
        vec![
            "Debian:12 /var/lib/dpkg/status libssl3 3.0.11-1~deb12u1 openssl",
            "Debian:12 /var/lib/dpkg/status zlib1g 1:1.2.13.dfsg-1 zlib",
            "Go /srv/go.mod golang.org/x/net v0.0.0-20220722155237-a158d28d115b -",
            "npm /app/package-lock.json lodash 4.17.20 -",
        ]
    );
    let errors: Vec<String> = inventory.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("layer 3")
            && errors[0].contains("decompressed layer is larger than the 2097152-byte limit"),
        "{errors:#?}"
    );
    assert!(
        errors[1].ends_with("1 layer entries with `..` in their path were ignored"),
        "{errors:#?}"
    );
    assert!(!Path::new("/tmp/palisade-escape").exists());

    let output = match_packages(&inventory.packages, &index(), &Exploitation::default());
    let mut findings: Vec<String> = output
        .findings
        .iter()
        .map(|f| {
            let Some(FindingDetails::Vulnerability(d)) = &f.details else {
                panic!("no details");
            };
            format!(
                "{} {} {} {} [{}]",
                d.package,
                d.advisory_ids[0],
                f.severity,
                d.fixed_versions.join(","),
                f.evidence.as_deref().unwrap_or("")
            )
        })
        .collect();
    findings.sort();
    let [base_layer, second_layer] = layer_digits;
    assert_eq!(
        findings,
        vec![
            format!("golang.org/x/net CVE-2022-27664 medium 0.0.0-20220906165146-f3363e06e74c [golang.org/x/net@v0.0.0-20220722155237-a158d28d115b in layer 2 ({second_layer})]"),
            format!("libssl3 CVE-2023-5363 medium 3.0.11-1~deb12u2 [libssl3@3.0.11-1~deb12u1 in layer 1 ({base_layer})]"),
            format!("lodash CVE-2021-23337 high 4.17.21 [lodash@4.17.20 in layer 1 ({base_layer})]"),
        ]
    );
}

#[test]
fn a_docker_save_tarball_is_inventoried_layer_by_layer() {
    let dir = tempfile::tempdir().expect("dir");
    check(
        &docker_save(dir.path()),
        "registry.example.com/app:1.0",
        ["sha256:aaaaaaaaaaaa", "sha256:bbbbbbbbbbbb"],
    );
}

#[test]
fn an_oci_layout_directory_is_inventoried_the_same_way() {
    let dir = tempfile::tempdir().expect("dir");
    check(
        &oci_layout(dir.path()),
        "app:1.0",
        ["sha256:dddddddddddd", "sha256:eeeeeeeeeeee"],
    );
}

#[test]
fn not_an_image_is_one_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("empty.tar");
    std::fs::write(&path, layer(&[Entry::File("hello.txt", b"hi")])).expect("write");
    let error = inventory_image(&path, &limits()).expect_err("not an image");
    assert!(
        error.to_string().contains("neither manifest.json"),
        "{error}"
    );
    let garbage = dir.path().join("garbage.tar");
    std::fs::write(&garbage, vec![0xffu8; 5000]).expect("write");
    let error = inventory_image(&garbage, &limits()).expect_err("garbage");
    assert!(!error.to_string().contains('\n'), "{error}");
}
