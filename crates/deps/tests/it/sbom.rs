//! CycloneDX round trip: what `sbom` writes, `scan deps --sbom` reads back.

use palisade_deps::sbom::{read, write, SpecVersion};
use palisade_deps::{inventory_path, WalkOptions};

use crate::fixtures;

#[test]
fn written_sbom_has_purls_hashes_graph_and_reads_back() {
    let inventory = inventory_path(
        &fixtures().join("lockfiles/cargo/Cargo.lock"),
        &WalkOptions::default(),
    )
    .expect("inventory");
    let timestamp = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let text = write(
        &inventory.packages,
        "app",
        SpecVersion::V1_6,
        "0.1.0",
        timestamp,
        "3e671687-395b-41f5-a30f-a58921a69b79",
    )
    .expect("write");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["bomFormat"], "CycloneDX");
    assert_eq!(json["specVersion"], "1.6");
    let components = json["components"].as_array().expect("components");
    assert_eq!(components.len(), 4);
    let time = components
        .iter()
        .find(|c| c["purl"] == "pkg:cargo/time@0.1.45")
        .expect("time");
    assert_eq!(time["hashes"][0]["alg"], "SHA-256");
    let graph = json["dependencies"].as_array().expect("dependencies");
    let time_deps = graph
        .iter()
        .find(|d| d["ref"] == "pkg:cargo/time@0.1.45")
        .expect("time node");
    assert_eq!(
        time_deps["dependsOn"],
        serde_json::json!(["pkg:cargo/libc@0.2.150", "pkg:cargo/time@0.3.30"])
    );
    assert_eq!(
        graph[0]["dependsOn"],
        serde_json::json!(["pkg:cargo/smallvec@1.6.0", "pkg:cargo/time@0.1.45"])
    );

    let back = read("bom.cdx.json", &text).expect("read");
    let mut purls: Vec<String> = back.iter().map(|p| p.purl()).collect();
    purls.sort();
    assert_eq!(
        purls,
        vec![
            "pkg:cargo/libc@0.2.150",
            "pkg:cargo/smallvec@1.6.0",
            "pkg:cargo/time@0.1.45",
            "pkg:cargo/time@0.3.30"
        ]
    );
    let v15 = write(
        &inventory.packages,
        "app",
        SpecVersion::V1_5,
        "0.1.0",
        timestamp,
        "x",
    )
    .expect("write 1.5");
    assert!(v15.contains("\"specVersion\": \"1.5\""));
}

#[test]
fn sboms_from_other_tools_are_read_with_nested_components() {
    let text = std::fs::read_to_string(fixtures().join("sbom/debian.cdx.json")).expect("fixture");
    let packages = read("debian.cdx.json", &text).expect("read");
    let names: Vec<String> = packages
        .iter()
        .map(|p| format!("{} {} {}", p.ecosystem, p.name, p.version))
        .collect();
    assert_eq!(
        names,
        vec![
            "Debian:12 openssl 3.0.11-1~deb12u1",
            "Debian:12 zlib1g 1:1.2.13.dfsg-1",
            "npm minimist 1.2.5",
        ]
    );
    assert!(read("x.json", "{\"bomFormat\": \"SPDX\"}").is_err());
}
