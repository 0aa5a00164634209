//! The cloud inventory: collections of an account and the assets they saw.
//!
//! Each [`Store::record_collection`] stores what one collection of one
//! account saw. An asset's identity is (account, region, kind, id); its
//! snapshot is stored once per distinct content (by SHA-256), so a
//! collection that changes nothing costs one row per asset. An asset not
//! seen by the latest collection of its account has vanished (it stays in
//! the table with its last state). [`Store::diff_collections`] compares any
//! two collections of an account.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};

/// An asset as a collector hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAsset {
    pub kind: String,
    pub id: String,
    pub region: String,
    pub tags: Vec<(String, String)>,
    pub snapshot: Value,
}

/// An asset as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAsset {
    pub account: String,
    pub region: String,
    pub kind: String,
    pub id: String,
    pub tags: BTreeMap<String, String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Whether the latest collection of the account saw it.
    pub present: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Value>,
}

/// One recorded collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetCollection {
    pub id: i64,
    pub account: String,
    pub regions: Vec<String>,
    pub collected_at: DateTime<Utc>,
    pub assets: u64,
    pub gaps: u64,
}

/// Which assets [`Store::list_assets`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFilter {
    pub account: Option<String>,
    pub kind: Option<String>,
    pub region: Option<String>,
    /// Also list assets the latest collection no longer saw.
    pub include_vanished: bool,
}

/// How an asset differs between two collections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetChange {
    pub region: String,
    pub kind: String,
    pub id: String,
    /// Top-level snapshot fields whose value differs (for changed assets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// What appeared, vanished or changed from one collection to another.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetDiff {
    pub from: i64,
    pub to: i64,
    pub appeared: Vec<AssetChange>,
    pub vanished: Vec<AssetChange>,
    pub changed: Vec<AssetChange>,
}

fn hash(snapshot: &str) -> String {
    hex::encode(Sha256::digest(snapshot.as_bytes()))
}

type Key = (String, String, String);

impl Store {
    /// Records one collection of `account` and returns its id.
    pub async fn record_collection(
        &self,
        account: &str,
        regions: &[String],
        assets: &[NewAsset],
        gaps: usize,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let collection: i64 = sqlx::query_scalar(
            "INSERT INTO asset_collections (account, regions, collected_at, assets, gaps) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account)
        .bind(regions.join(","))
        .bind(ts(now))
        .bind(assets.len() as i64)
        .bind(gaps as i64)
        .fetch_one(&mut *tx)
        .await?;
        for asset in assets {
            let snapshot =
                serde_json::to_string(&asset.snapshot).map_err(|source| Error::Encode {
                    what: "asset snapshot",
                    source,
                })?;
            let digest = hash(&snapshot);
            let tags: BTreeMap<&str, &str> = asset
                .tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let tags = serde_json::to_string(&tags).map_err(|source| Error::Encode {
                what: "asset tags",
                source,
            })?;
            sqlx::query("INSERT INTO asset_snapshots (hash, snapshot) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING")
                .bind(&digest)
                .bind(&snapshot)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO assets (account, region, kind, asset_id, tags, snapshot_hash, first_seen, last_seen, last_collection) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (account, region, kind, asset_id) DO UPDATE SET tags = excluded.tags, \
                 snapshot_hash = excluded.snapshot_hash, last_seen = excluded.last_seen, last_collection = excluded.last_collection",
            )
            .bind(account)
            .bind(&asset.region)
            .bind(&asset.kind)
            .bind(&asset.id)
            .bind(&tags)
            .bind(&digest)
            .bind(ts(now))
            .bind(ts(now))
            .bind(collection)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO asset_collection_members (collection_id, region, kind, asset_id, snapshot_hash) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(collection)
            .bind(&asset.region)
            .bind(&asset.kind)
            .bind(&asset.id)
            .bind(&digest)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(collection)
    }

    /// Collections, newest first (of one account, when given).
    pub async fn list_collections(&self, account: Option<&str>) -> Result<Vec<AssetCollection>> {
        let rows: Vec<(i64, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, account, regions, collected_at, assets, gaps FROM asset_collections \
             WHERE (?1 IS NULL OR account = ?1) ORDER BY id DESC",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, account, regions, at, assets, gaps)| {
                Ok(AssetCollection {
                    id,
                    account,
                    regions: regions
                        .split(',')
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect(),
                    collected_at: parse_ts("collected_at", &at)?,
                    assets: assets.max(0) as u64,
                    gaps: gaps.max(0) as u64,
                })
            })
            .collect()
    }

    /// Assets matching the filter, ordered by account, kind, region, id.
    pub async fn list_assets(&self, filter: &AssetFilter) -> Result<Vec<StoredAsset>> {
        let rows: Vec<AssetRow> = sqlx::query_as(
            "SELECT a.account, a.region, a.kind, a.asset_id, a.tags, a.first_seen, a.last_seen, \
             a.last_collection = (SELECT MAX(id) FROM asset_collections c WHERE c.account = a.account) AS present, \
             NULL AS snapshot \
             FROM assets a WHERE (?1 IS NULL OR a.account = ?1) AND (?2 IS NULL OR a.kind = ?2) \
             AND (?3 IS NULL OR a.region = ?3) ORDER BY a.account, a.kind, a.region, a.asset_id",
        )
        .bind(&filter.account)
        .bind(&filter.kind)
        .bind(&filter.region)
        .fetch_all(&self.pool)
        .await?;
        let assets = rows
            .into_iter()
            .map(AssetRow::parse)
            .collect::<Result<Vec<_>>>()?;
        Ok(assets
            .into_iter()
            .filter(|a| filter.include_vanished || a.present)
            .collect())
    }

    /// Every asset whose id (ARN or resource id) is `id`, with its latest snapshot.
    pub async fn get_assets(&self, id: &str) -> Result<Vec<StoredAsset>> {
        let rows: Vec<AssetRow> = sqlx::query_as(
            "SELECT a.account, a.region, a.kind, a.asset_id, a.tags, a.first_seen, a.last_seen, \
             a.last_collection = (SELECT MAX(id) FROM asset_collections c WHERE c.account = a.account) AS present, \
             s.snapshot AS snapshot \
             FROM assets a JOIN asset_snapshots s ON s.hash = a.snapshot_hash WHERE a.asset_id = ? \
             ORDER BY a.account, a.region",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AssetRow::parse).collect()
    }

    /// What appeared, vanished and changed from collection `from` to collection `to`.
    pub async fn diff_collections(&self, from: i64, to: i64) -> Result<AssetDiff> {
        let members = |id: i64| async move {
            let rows: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT region, kind, asset_id, snapshot_hash FROM asset_collection_members WHERE collection_id = ?",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM asset_collections WHERE id = ?")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                if exists.is_none() {
                    return Err(Error::NotFound(format!("collection {id}")));
                }
            }
            Ok::<BTreeMap<Key, String>, Error>(
                rows.into_iter()
                    .map(|(r, k, i, h)| ((r, k, i), h))
                    .collect(),
            )
        };
        let before = members(from).await?;
        let after = members(to).await?;
        let change = |(region, kind, id): &Key, fields: Vec<String>| AssetChange {
            region: region.clone(),
            kind: kind.clone(),
            id: id.clone(),
            fields,
        };
        let mut diff = AssetDiff {
            from,
            to,
            ..AssetDiff::default()
        };
        for (key, hash_after) in &after {
            match before.get(key) {
                None => diff.appeared.push(change(key, vec![])),
                Some(hash_before) if hash_before != hash_after => {
                    let fields = self.changed_fields(hash_before, hash_after).await?;
                    diff.changed.push(change(key, fields));
                }
                Some(_) => {}
            }
        }
        for key in before.keys().filter(|k| !after.contains_key(*k)) {
            diff.vanished.push(change(key, vec![]));
        }
        Ok(diff)
    }

    async fn changed_fields(&self, before: &str, after: &str) -> Result<Vec<String>> {
        let load = |hash: String| async move {
            let text: String =
                sqlx::query_scalar("SELECT snapshot FROM asset_snapshots WHERE hash = ?")
                    .bind(hash)
                    .fetch_one(&self.pool)
                    .await?;
            serde_json::from_str::<Value>(&text).map_err(|e| Error::corrupt("asset snapshot", e))
        };
        let (a, b) = (
            load(before.to_string()).await?,
            load(after.to_string()).await?,
        );
        let (Value::Object(a), Value::Object(b)) = (a, b) else {
            return Ok(vec!["(snapshot)".to_string()]);
        };
        let mut fields: Vec<String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .cloned()
            .collect();
        fields.sort();
        fields.dedup();
        Ok(fields)
    }
}

#[derive(sqlx::FromRow)]
struct AssetRow {
    account: String,
    region: String,
    kind: String,
    asset_id: String,
    tags: String,
    first_seen: String,
    last_seen: String,
    present: bool,
    snapshot: Option<String>,
}

impl AssetRow {
    fn parse(self) -> Result<StoredAsset> {
        Ok(StoredAsset {
            tags: serde_json::from_str(&self.tags).map_err(|e| Error::corrupt("asset tags", e))?,
            first_seen: parse_ts("first_seen", &self.first_seen)?,
            last_seen: parse_ts("last_seen", &self.last_seen)?,
            snapshot: self
                .snapshot
                .map(|s| serde_json::from_str(&s).map_err(|e| Error::corrupt("asset snapshot", e)))
                .transpose()?,
            account: self.account,
            region: self.region,
            kind: self.kind,
            id: self.asset_id,
            present: self.present,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0)
            .single()
            .expect("valid time")
    }

    fn asset(kind: &str, id: &str, snapshot: Value) -> NewAsset {
        NewAsset {
            kind: kind.into(),
            id: id.into(),
            region: "us-east-1".into(),
            tags: vec![("team".into(), "core".into())],
            snapshot,
        }
    }

    #[tokio::test]
    async fn collections_record_assets_and_diff_what_appeared_vanished_and_changed() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let store = Store::open(&dir.path().join("p.db").to_string_lossy())
            .await
            .expect("opens");
        let regions = vec!["us-east-1".to_string()];
        let first = store
            .record_collection(
                "111122223333",
                &regions,
                &[
                    asset(
                        "AWS::EC2::SecurityGroup",
                        "sg-1",
                        json!({"id": "sg-1", "ingress": [22]}),
                    ),
                    asset("AWS::EC2::Volume", "vol-1", json!({"id": "vol-1"})),
                ],
                0,
                at(1),
            )
            .await
            .expect("first collection");
        let second = store
            .record_collection(
                "111122223333",
                &regions,
                &[
                    asset(
                        "AWS::EC2::SecurityGroup",
                        "sg-1",
                        json!({"id": "sg-1", "ingress": []}),
                    ),
                    asset(
                        "AWS::S3::Bucket",
                        "arn:aws:s3:::new",
                        json!({"name": "new"}),
                    ),
                ],
                2,
                at(2),
            )
            .await
            .expect("second collection");

        let diff = store.diff_collections(first, second).await.expect("diff");
        let ids = |list: &[AssetChange]| list.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&diff.appeared), ["arn:aws:s3:::new"]);
        assert_eq!(ids(&diff.vanished), ["vol-1"]);
        assert_eq!(ids(&diff.changed), ["sg-1"]);
        assert_eq!(diff.changed[0].fields, ["ingress"]);

        let present = store
            .list_assets(&AssetFilter::default())
            .await
            .expect("list");
        assert_eq!(present.len(), 2);
        let all = store
            .list_assets(&AssetFilter {
                include_vanished: true,
                ..AssetFilter::default()
            })
            .await
            .expect("list");
        let volume = all
            .iter()
            .find(|a| a.id == "vol-1")
            .expect("vanished volume kept");
        assert!(!volume.present);
        assert_eq!(volume.last_seen, at(1));

        let sg = store.get_assets("sg-1").await.expect("get");
        assert_eq!(sg[0].first_seen, at(1));
        assert_eq!(sg[0].last_seen, at(2));
        assert_eq!(sg[0].tags.get("team").map(String::as_str), Some("core"));
        assert_eq!(sg[0].snapshot, Some(json!({"id": "sg-1", "ingress": []})));

        let collections = store
            .list_collections(Some("111122223333"))
            .await
            .expect("collections");
        assert_eq!(
            collections.iter().map(|c| c.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert_eq!(collections[0].gaps, 2);
        assert!(matches!(
            store.diff_collections(first, 999).await,
            Err(Error::NotFound(_))
        ));
        store.close().await;
    }
}
