//! Helpers shared by the store's console tests.

use chrono::{DateTime, TimeZone, Utc};
use palisade_store::Store;
use tempfile::TempDir;

/// `day` January 2026 at `hour`:00 UTC.
pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0)
        .single()
        .expect("valid test time")
}

/// A store in a new SQLite file, `palisade.db` in the returned directory.
pub async fn temp_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("palisade.db");
    let store = Store::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open store");
    (dir, store)
}
