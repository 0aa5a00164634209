//! The advisory database: upserts replace a record and its package index,
//! candidate lookups return the compact forms of the packages asked for,
//! record lookups skip withdrawn records, status counts per ecosystem, and
//! (index rows from before compact forms: see the store's unit tests).

use chrono::{TimeZone, Utc};
use palisade_store::{AdvisoryCandidate, AdvisoryRow, ImportCounts, Store};

fn row(id: &str, modified: &str, withdrawn: bool, packages: &[(&str, &str)]) -> AdvisoryRow {
    AdvisoryRow {
        id: id.into(),
        modified: modified.into(),
        withdrawn,
        json: format!("{{\"id\":\"{id}\",\"modified\":\"{modified}\"}}"),
        packages: packages
            .iter()
            .map(|(e, n)| {
                (
                    e.to_string(),
                    n.to_string(),
                    format!("E\u{1c}i0\u{1c}f{id}"),
                )
            })
            .collect(),
    }
}

#[tokio::test]
async fn upsert_lookup_status_and_exploitation() {
    let store = Store::open("sqlite::memory:").await.expect("open");
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("time");
    store
        .upsert_advisories(
            &[
                row(
                    "GHSA-1",
                    "2024-01-01T00:00:00Z",
                    false,
                    &[("npm", "lodash"), ("npm", "lodash-es")],
                ),
                row(
                    "PYSEC-1",
                    "2024-01-02T00:00:00Z",
                    false,
                    &[("PyPI", "pyyaml")],
                ),
                row(
                    "GHSA-W",
                    "2024-01-03T00:00:00Z",
                    true,
                    &[("npm", "minimist")],
                ),
            ],
            now,
        )
        .await
        .expect("upsert");
    let versions = store.advisory_versions().await.expect("versions");
    assert_eq!(versions.len(), 3);
    assert_eq!(versions["GHSA-1"], "2024-01-01T00:00:00Z");

    let candidate = |e: &str, n: &str, id: &str| AdvisoryCandidate {
        ecosystem: e.into(),
        name: n.into(),
        record_id: id.into(),
        compact: Some(format!("E\u{1c}i0\u{1c}f{id}")),
    };
    let mut found = store
        .advisory_candidates(&[
            ("npm".into(), "lodash".into()),
            ("npm".into(), "lodash-es".into()),
            ("npm".into(), "minimist".into()),
            ("PyPI".into(), "lodash".into()),
        ])
        .await
        .expect("lookup");
    found.sort_by(|a, b| a.name.cmp(&b.name));
    // Withdrawn records keep their index rows (the engine's compact form of
    // a withdrawn record affects nothing); PyPI has no lodash.
    assert_eq!(
        found,
        vec![
            candidate("npm", "lodash", "GHSA-1"),
            candidate("npm", "lodash-es", "GHSA-1"),
            candidate("npm", "minimist", "GHSA-W"),
        ]
    );
    let records = store
        .advisory_records(&["GHSA-1".into(), "GHSA-W".into(), "NOPE".into()])
        .await
        .expect("records");
    assert_eq!(
        records,
        vec!["{\"id\":\"GHSA-1\",\"modified\":\"2024-01-01T00:00:00Z\"}"]
    );

    // A newer version of a record no longer naming lodash-es replaces its index rows.
    store
        .upsert_advisories(
            &[row(
                "GHSA-1",
                "2024-02-01T00:00:00Z",
                false,
                &[("npm", "lodash")],
            )],
            now,
        )
        .await
        .expect("update");
    let found = store
        .advisory_candidates(&[("npm".into(), "lodash-es".into())])
        .await
        .expect("lookup");
    assert!(found.is_empty());

    store
        .record_advisory_import(
            "all.zip",
            ImportCounts {
                read: 3,
                added: 3,
                updated: 0,
                unchanged: 0,
            },
            now,
        )
        .await
        .expect("import");
    store
        .replace_known_exploited(&[("CVE-2021-44228".into(), "2021-12-10".into())])
        .await
        .expect("kev");
    store
        .replace_epss(&[("CVE-2021-44228".into(), 0.9, 0.99)])
        .await
        .expect("epss");
    let status = store.advisory_status().await.expect("status");
    assert_eq!(status.records, 3);
    assert_eq!(status.withdrawn, 1);
    assert_eq!(status.per_ecosystem.get("npm"), Some(&2));
    assert_eq!(status.per_ecosystem.get("PyPI"), Some(&1));
    assert_eq!(status.last_import, Some(now));
    assert_eq!(
        status.newest_record.as_deref(),
        Some("2024-02-01T00:00:00Z")
    );
    assert_eq!((status.known_exploited, status.epss_scores), (1, 1));
    let (kev, epss) = store
        .exploitation_of(&["CVE-2021-44228".into(), "CVE-2000-0001".into()])
        .await
        .expect("exploitation");
    assert!(kev.contains("CVE-2021-44228"));
    assert_eq!(epss.get("CVE-2021-44228"), Some(&0.9));
    assert_eq!(epss.len(), 1);

    store.close().await;
}
