//! Helpers shared by the store's integration tests.
#![allow(dead_code)] // each test crate uses a different part

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
    temp_store_at("palisade.db").await
}

/// A store in a new SQLite file at `relative` in the returned directory
/// (missing directories on the way are created by the store).
pub async fn temp_store_at(relative: &str) -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(relative);
    let store = Store::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open store");
    (dir, store)
}
