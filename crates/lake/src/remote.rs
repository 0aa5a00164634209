//! Lakes on object storage: the same layout as a local lake, under a prefix
//! of a bucket, read and written through an [`ObjectStore`].
//!
//! Writers build each file locally (a spool directory under the system's
//! temporary directory) and upload it whole: an upload is atomic, so a reader
//! sees a part file entirely or not at all, as with the local lake's renames.

use std::fmt;
use std::future::Future;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use futures::{StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt as _, PutPayload};

use crate::error::{Error, Result};

/// Where a lake on object storage is.
#[derive(Clone)]
pub(crate) struct Remote {
    /// `<scheme>://<bucket>`: the object store's URL, as DataFusion knows it.
    pub(crate) store_url: String,
    /// The lake's prefix inside the bucket, without slashes at either end.
    pub(crate) prefix: String,
    pub(crate) store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Remote({})", self.url_of(""))
    }
}

impl PartialEq for Remote {
    fn eq(&self, other: &Remote) -> bool {
        self.store_url == other.store_url && self.prefix == other.prefix
    }
}

impl Eq for Remote {}

/// Waits for an object store request from synchronous code. The S3 store
/// runs its requests on a runtime of its own, so this may block any thread,
/// even a worker of another runtime.
pub(crate) fn wait<F: Future>(work: F) -> F::Output {
    futures::executor::block_on(work)
}

impl Remote {
    pub(crate) fn new(url: &str, store: Arc<dyn ObjectStore>) -> Result<Remote> {
        let invalid = |reason: &str| Error::InvalidInput {
            what: "lake location",
            reason: format!("`{url}`: {reason}"),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("not a URL like s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("no bucket name"));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(invalid("`.` and `..` are not allowed in the prefix"));
        }
        Ok(Remote {
            store_url: format!("{scheme}://{bucket}"),
            prefix: prefix.to_string(),
            store,
        })
    }

    /// The key of `relative` (`source=x/dt=y/part-z.parquet`) in the bucket.
    pub(crate) fn key(&self, relative: &str) -> Path {
        let relative = relative.trim_matches('/');
        match (self.prefix.is_empty(), relative.is_empty()) {
            (true, _) => Path::from(relative),
            (false, true) => Path::from(self.prefix.as_str()),
            (false, false) => Path::from(format!("{}/{relative}", self.prefix)),
        }
    }

    /// The URL of `relative` (`s3://bucket/prefix/source=x/`).
    pub(crate) fn url_of(&self, relative: &str) -> String {
        let key = self.key(relative);
        if key.as_ref().is_empty() {
            self.store_url.clone()
        } else {
            format!("{}/{key}", self.store_url)
        }
    }

    /// The path of an object of the lake relative to the lake, from its URL
    /// (as [`Remote::url_of`] names it) or key.
    pub(crate) fn relative<'a>(&self, name: &'a str) -> &'a str {
        let name = name.strip_prefix(&self.store_url).unwrap_or(name);
        let name = name.trim_start_matches('/');
        let name = name.strip_prefix(&self.prefix).unwrap_or(name);
        name.trim_start_matches('/')
    }

    fn error(&self, relative: &str, source: object_store::Error) -> Error {
        Error::ObjectStore {
            url: self.url_of(relative),
            source,
        }
    }

    /// The direct children of `relative`: sub-"directory" names and objects.
    pub(crate) async fn children(&self, relative: &str) -> Result<(Vec<String>, Vec<ObjectMeta>)> {
        let listed = self
            .store
            .list_with_delimiter(Some(&self.key(relative)))
            .await
            .map_err(|e| self.error(relative, e))?;
        let names = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        Ok((names, listed.objects))
    }

    /// Every object under `relative`.
    pub(crate) async fn all(&self, relative: &str) -> Result<Vec<ObjectMeta>> {
        self.store
            .list(Some(&self.key(relative)))
            .try_collect()
            .await
            .map_err(|e| self.error(relative, e))
    }

    /// Uploads the local file `local` as `relative`, then removes it.
    pub(crate) async fn upload(&self, local: &FsPath, relative: &str) -> Result<()> {
        let bytes = std::fs::read(local).map_err(|source| Error::Read {
            path: local.to_path_buf(),
            source,
        })?;
        self.put(relative, bytes).await?;
        if let Err(error) = std::fs::remove_file(local) {
            tracing::warn!(path = %local.display(), %error, "cannot remove a spool file");
        }
        Ok(())
    }

    pub(crate) async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&self.key(relative), PutPayload::from(bytes))
            .await
            .map_err(|e| self.error(relative, e))?;
        Ok(())
    }

    pub(crate) async fn get(&self, relative: &str) -> Result<bytes::Bytes> {
        let key = self.key(relative);
        let result = self
            .store
            .get(&key)
            .await
            .map_err(|e| self.error(relative, e))?;
        result.bytes().await.map_err(|e| self.error(relative, e))
    }

    /// Deletes the objects `relatives` (missing ones are not an error).
    pub(crate) async fn delete(&self, relatives: &[String]) -> Result<()> {
        let keys: Vec<object_store::Result<Path>> =
            relatives.iter().map(|r| Ok(self.key(r))).collect();
        let mut deleted = self
            .store
            .delete_stream(futures::stream::iter(keys).boxed());
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => {
                    return Err(self.error(relatives.first().map_or("", String::as_str), error))
                }
            }
        }
        Ok(())
    }
}

/// A fresh local directory for files on their way to or from object storage.
pub(crate) fn spool_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "palisade-lake-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ))
}

/// Part files as local files, for readers that need a file: the lake's own
/// files for a local lake, downloaded copies (removed on drop) for a lake on
/// object storage.
#[derive(Debug)]
pub struct LocalFiles {
    pub files: Vec<PathBuf>,
    spool: Option<PathBuf>,
}

impl Drop for LocalFiles {
    fn drop(&mut self) {
        if let Some(spool) = &self.spool {
            if let Err(error) = std::fs::remove_dir_all(spool) {
                tracing::warn!(path = %spool.display(), %error, "cannot remove downloaded lake files");
            }
        }
    }
}

impl crate::Lake {
    /// `files` (as [`crate::Lake::parts`] or an ingest summary names them)
    /// as local files: themselves for a local lake, downloaded for a lake on
    /// object storage.
    pub fn local_files(&self, files: &[PathBuf]) -> Result<LocalFiles> {
        let Some(remote) = &self.remote else {
            return Ok(LocalFiles {
                files: files.to_vec(),
                spool: None,
            });
        };
        let spool = spool_dir();
        let mut local = LocalFiles {
            files: Vec::with_capacity(files.len()),
            spool: Some(spool.clone()),
        };
        for file in files {
            let name = file.to_string_lossy();
            let relative = remote.relative(&name);
            let bytes = wait(remote.get(relative))?;
            let path = spool.join(relative);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, &bytes).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            local.files.push(path);
        }
        Ok(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> Result<Remote> {
        Remote::new(url, Arc::new(object_store::memory::InMemory::new()))
    }

    #[test]
    fn urls_give_keys_and_back() {
        let lake = remote("s3://logs/lake/prod/").expect("valid");
        assert_eq!(lake.store_url, "s3://logs");
        assert_eq!(
            lake.key("source=x/dt=d").as_ref(),
            "lake/prod/source=x/dt=d"
        );
        assert_eq!(lake.url_of(""), "s3://logs/lake/prod");
        assert_eq!(lake.url_of("source=x"), "s3://logs/lake/prod/source=x");
        assert_eq!(
            lake.relative("s3://logs/lake/prod/source=x/dt=d/part-1.parquet"),
            "source=x/dt=d/part-1.parquet"
        );
        let bare = remote("s3://logs").expect("valid");
        assert_eq!(bare.key("source=x").as_ref(), "source=x");
        assert_eq!(bare.url_of("source=x"), "s3://logs/source=x");
        assert_eq!(bare.relative("s3://logs/source=x"), "source=x");
        for bad in ["logs", "s3://", "s3:///x", "s3://b/../x"] {
            assert!(remote(bad).is_err(), "{bad}");
        }
    }
}
