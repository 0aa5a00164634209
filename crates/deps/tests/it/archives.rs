//! OSV exports as zip archives, including hostile ones: oversized entries
//! (decompression bombs), traversal names, truncated archives. Entries are
//! only ever read into memory, never written to disk.

use std::io::Write;

use palisade_deps::osv::{read_records, ReadLimits};

use crate::fixtures;

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in entries {
            writer.start_file(*name, options).expect("entry");
            writer.write_all(content).expect("write");
        }
        writer.finish().expect("finish");
    }
    buffer.into_inner()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("osv").join(name)).expect("fixture")
}

fn read(archive: &[u8], limits: &ReadLimits) -> (Vec<String>, Result<Vec<String>, String>) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("all.zip");
    std::fs::write(&path, archive).expect("write");
    let mut ids = Vec::new();
    let result = read_records(&path, limits, &mut |raw| ids.push(raw.record.id))
        .map(|problems| problems.into_iter().map(|p| p.message).collect())
        .map_err(|e| e.to_string());
    (ids, result)
}

#[test]
fn an_osv_export_reads_every_json_entry() {
    let archive = zip_of(&[
        (
            "GHSA-jf85-cpcp-j695.json",
            fixture("GHSA-jf85-cpcp-j695.json"),
        ),
        ("README.txt", b"not a record".to_vec()),
        (
            "../../escape/RUSTSEC-2021-0003.json",
            fixture("RUSTSEC-2021-0003.json"),
        ),
        ("broken.json", b"{\"id\": ".to_vec()),
    ]);
    let (ids, problems) = read(&archive, &ReadLimits::default());
    assert_eq!(ids, vec!["GHSA-jf85-cpcp-j695", "RUSTSEC-2021-0003"]);
    let problems = problems.expect("archive read");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("not an OSV record"), "{problems:?}");
}

#[test]
fn a_decompression_bomb_entry_is_refused_and_the_rest_read() {
    // 4 MB of spaces deflate to a few kilobytes.
    let bomb = vec![b' '; 4 * 1024 * 1024];
    let archive = zip_of(&[
        ("bomb.json", bomb),
        (
            "GHSA-jf85-cpcp-j695.json",
            fixture("GHSA-jf85-cpcp-j695.json"),
        ),
    ]);
    assert!(archive.len() < 64 * 1024, "bomb is {} bytes", archive.len());
    let limits = ReadLimits {
        max_record_bytes: 1024 * 1024,
        ..ReadLimits::default()
    };
    let (ids, problems) = read(&archive, &limits);
    assert_eq!(ids, vec!["GHSA-jf85-cpcp-j695"]);
    let problems = problems.expect("archive read");
    assert_eq!(problems, vec!["record larger than the 1048576-byte limit"]);

    let limits = ReadLimits {
        max_total_bytes: 2 * 1024 * 1024,
        ..ReadLimits::default()
    };
    let (_, result) = read(&archive, &limits);
    let error = result.expect_err("total limit");
    assert!(
        error.contains("decompressed archive is larger than the 2097152-byte limit"),
        "{error}"
    );
}

#[test]
fn truncated_and_entry_heavy_archives_are_clear_errors() {
    let archive = zip_of(&[(
        "GHSA-jf85-cpcp-j695.json",
        fixture("GHSA-jf85-cpcp-j695.json"),
    )]);
    let (_, result) = read(&archive[..archive.len() / 2], &ReadLimits::default());
    let error = result.expect_err("truncated");
    assert!(error.contains("not a readable zip archive"), "{error}");
    assert!(!error.contains('\n'));

    let many: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("{i}.json"), b"{}".to_vec()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    let limits = ReadLimits {
        max_entries: 3,
        ..ReadLimits::default()
    };
    let (_, result) = read(&zip_of(&refs), &limits);
    assert!(result
        .expect_err("entries")
        .contains("archive of 5 entries"));
}
