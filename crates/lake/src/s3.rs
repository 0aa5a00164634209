//! An [`ObjectStore`] over the AWS SDK's S3 client, for lakes at `s3://bucket/prefix`.
//!
//! DataFusion reads Parquet through `object_store`. Its own S3 client (the
//! `aws` feature) brings reqwest and ring into a tree that already has the AWS
//! SDK with aws-lc-rs, and rebuilds datafusion; this adapter reuses the SDK,
//! so the endpoint, region and credentials come from the standard AWS chain
//! (`AWS_ENDPOINT_URL`, `AWS_PROFILE`, instance roles...).
//!
//! Every request runs on a small runtime owned by the store, so the store can
//! be used from DataFusion's runtime, from another runtime, or from plain
//! threads (the lake's synchronous calls block on it).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::{
    Attributes, CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, UploadPart,
};

const STORE: &str = "S3";
/// Deletes in flight at once.
const PARALLEL_DELETES: usize = 8;

/// An S3 bucket as an [`ObjectStore`].
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    bucket: String,
    client: Client,
    runtime: RuntimeGuard,
}

/// A runtime that may be dropped anywhere, even inside another runtime
/// (where dropping a `Runtime` directly panics).
struct RuntimeGuard(Option<tokio::runtime::Runtime>);

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Store({})", self.inner.bucket)
    }
}

impl fmt::Display for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Store({})", self.inner.bucket)
    }
}

impl S3Store {
    /// The bucket, with the client of the standard AWS configuration chain;
    /// path-style addressing when `AWS_ENDPOINT_URL` (or the profile) names
    /// an endpoint, as emulators and most S3-compatible stores want.
    pub fn from_env(bucket: &str) -> std::io::Result<S3Store> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("palisade-s3")
            .enable_all()
            .build()?;
        // Loading the configuration blocks on the runtime: do it on a thread of
        // its own so this works inside another runtime too.
        let client = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    runtime.block_on(async {
                        let mut config =
                            aws_config::defaults(BehaviorVersion::latest()).load().await;
                        if config.region().is_none() {
                            config = config.to_builder().region(Region::new("us-east-1")).build();
                        }
                        let mut builder = aws_sdk_s3::config::Builder::from(&config);
                        if config.endpoint_url().is_some() {
                            builder = builder.force_path_style(true);
                        }
                        Client::from_conf(builder.build())
                    })
                })
                .join()
        })
        .map_err(|_| std::io::Error::other("loading the AWS configuration panicked"))?;
        Ok(S3Store {
            inner: Arc::new(Inner {
                bucket: bucket.to_string(),
                client,
                runtime: RuntimeGuard(Some(runtime)),
            }),
        })
    }

    /// Runs `work` on the store's runtime and waits for it from any context.
    async fn run<F, T>(&self, work: F) -> object_store::Result<T>
    where
        F: Future<Output = object_store::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let Some(runtime) = &self.inner.runtime.0 else {
            return Err(generic("the S3 client's runtime is shut down".to_string()));
        };
        runtime
            .spawn(work)
            .await
            .map_err(|error| generic(format!("S3 request task failed: {error}")))?
    }
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: message.into(),
    }
}

/// An SDK error as object_store's: 404 is `NotFound`, 412 `Precondition`.
fn sdk_error<E>(key: &str, error: SdkError<E, HttpResponse>) -> object_store::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let message = DisplayErrorContext(&error).to_string();
    match status {
        Some(404) => object_store::Error::NotFound {
            path: key.to_string(),
            source: message.into(),
        },
        Some(412) => object_store::Error::Precondition {
            path: key.to_string(),
            source: message.into(),
        },
        _ => generic(format!("{key}: {message}")),
    }
}

fn time(value: Option<&aws_sdk_s3::primitives::DateTime>) -> DateTime<Utc> {
    value
        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_default()
}

/// `bytes START-END/TOTAL` (a Content-Range header).
fn content_range(header: &str) -> Option<(u64, u64, u64)> {
    let (range, total) = header.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?, total.parse().ok()?))
}

/// The S3 prefix listing `prefix`'s children: `a/b/`, or everything for the root.
fn list_prefix(prefix: Option<&Path>) -> String {
    match prefix.map(Path::as_ref) {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}/"),
        _ => String::new(),
    }
}

impl Inner {
    async fn list_page(
        &self,
        prefix: &str,
        delimiter: bool,
        token: Option<String>,
    ) -> object_store::Result<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output> {
        let mut request = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_continuation_token(token);
        if delimiter {
            request = request.delimiter("/");
        }
        request.send().await.map_err(|e| sdk_error(prefix, e))
    }

    /// Every object under `prefix`, or with `delimiter`, its direct children.
    async fn list(&self, prefix: String, delimiter: bool) -> object_store::Result<ListResult> {
        let mut result = ListResult {
            common_prefixes: Vec::new(),
            objects: Vec::new(),
        };
        let mut token = None;
        loop {
            let page = self.list_page(&prefix, delimiter, token).await?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                result.objects.push(ObjectMeta {
                    location: Path::parse(key)?,
                    last_modified: time(object.last_modified()),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    e_tag: object.e_tag().map(str::to_string),
                    version: None,
                });
            }
            for common in page.common_prefixes() {
                if let Some(prefix) = common.prefix() {
                    result
                        .common_prefixes
                        .push(Path::parse(prefix.trim_end_matches('/'))?);
                }
            }
            token = page.next_continuation_token().map(str::to_string);
            if !page.is_truncated().unwrap_or(false) || token.is_none() {
                return Ok(result);
            }
        }
    }

    async fn put(&self, key: String, body: Bytes) -> object_store::Result<PutResult> {
        let output = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| sdk_error(&key, e))?;
        Ok(PutResult {
            e_tag: output.e_tag().map(str::to_string),
            version: output.version_id().map(str::to_string),
        })
    }

    async fn delete(&self, key: String) -> object_store::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| sdk_error(&key, e))?;
        Ok(())
    }

    async fn get(&self, location: Path, options: GetOptions) -> object_store::Result<GetResult> {
        let key = location.to_string();
        if options.head {
            let head = self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| sdk_error(&key, e))?;
            let size = head.content_length().unwrap_or(0).max(0) as u64;
            return Ok(GetResult {
                payload: GetResultPayload::Stream(stream::empty().boxed()),
                meta: ObjectMeta {
                    location,
                    last_modified: time(head.last_modified()),
                    size,
                    e_tag: head.e_tag().map(str::to_string),
                    version: head.version_id().map(str::to_string),
                },
                range: 0..size,
                attributes: Attributes::new(),
            });
        }
        let mut request = self.client.get_object().bucket(&self.bucket).key(&key);
        if let Some(range) = &options.range {
            request = request.range(match range {
                GetRange::Bounded(range) => {
                    format!("bytes={}-{}", range.start, range.end.saturating_sub(1))
                }
                GetRange::Offset(start) => format!("bytes={start}-"),
                GetRange::Suffix(length) => format!("bytes=-{length}"),
            });
        }
        if let Some(tag) = options.if_match {
            request = request.if_match(tag);
        }
        if let Some(tag) = options.if_none_match {
            request = request.if_none_match(tag);
        }
        let output = request.send().await.map_err(|e| sdk_error(&key, e))?;
        let length = output.content_length().unwrap_or(0).max(0) as u64;
        let (range, size) = match output.content_range().and_then(content_range) {
            Some((start, end, total)) => (start..end + 1, total),
            None => (0..length, length),
        };
        let meta = ObjectMeta {
            location,
            last_modified: time(output.last_modified()),
            size,
            e_tag: output.e_tag().map(str::to_string),
            version: output.version_id().map(str::to_string),
        };
        // Parquet reads are ranges of a few MB at most: read them whole here,
        // on the store's runtime, rather than stream them across runtimes.
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| generic(format!("{key}: {e}")))?
            .into_bytes();
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream::once(async move { Ok(body) }).boxed()),
            meta,
            range,
            attributes: Attributes::new(),
        })
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if !matches!(opts.mode, PutMode::Overwrite) {
            return Err(object_store::Error::NotImplemented {
                operation: "conditional put".to_string(),
                implementer: STORE.to_string(),
            });
        }
        let inner = self.inner.clone();
        let key = location.to_string();
        self.run(async move { inner.put(key, Bytes::from(payload)).await })
            .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Ok(Box::new(BufferedUpload {
            store: self.clone(),
            key: location.to_string(),
            parts: Vec::new(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let inner = self.inner.clone();
        let location = location.clone();
        self.run(async move { inner.get(location, options).await })
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let store = self.clone();
        locations
            .map(move |location| {
                let store = store.clone();
                async move {
                    let location = location?;
                    let inner = store.inner.clone();
                    let key = location.to_string();
                    store.run(async move { inner.delete(key).await }).await?;
                    Ok(location)
                }
            })
            .buffered(PARALLEL_DELETES)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let store = self.clone();
        let prefix = list_prefix(prefix);
        stream::once(async move {
            let inner = store.inner.clone();
            store
                .run(async move { inner.list(prefix, false).await })
                .await
        })
        .map_ok(|listed| stream::iter(listed.objects.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let inner = self.inner.clone();
        let prefix = list_prefix(prefix);
        self.run(async move { inner.list(prefix, true).await })
            .await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        _options: CopyOptions,
    ) -> object_store::Result<()> {
        let inner = self.inner.clone();
        let (from, to) = (from.to_string(), to.to_string());
        self.run(async move {
            inner
                .client
                .copy_object()
                .bucket(&inner.bucket)
                .key(&to)
                .copy_source(format!("{}/{from}", inner.bucket))
                .send()
                .await
                .map_err(|e| sdk_error(&to, e))?;
            Ok(())
        })
        .await
    }
}

/// A multipart upload kept in memory and sent as one PUT on completion
/// (the lake's files are tens of MB; S3 takes up to 5 GB in one PUT).
struct BufferedUpload {
    store: S3Store,
    key: String,
    parts: Vec<PutPayload>,
}

impl fmt::Debug for BufferedUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BufferedUpload({})", self.key)
    }
}

#[async_trait]
impl MultipartUpload for BufferedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.push(data);
        Box::pin(async { Ok(()) })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let mut body = Vec::new();
        for part in self.parts.drain(..) {
            for chunk in &part {
                body.extend_from_slice(chunk);
            }
        }
        let inner = self.store.inner.clone();
        let key = self.key.clone();
        self.store
            .run(async move { inner.put(key, Bytes::from(body)).await })
            .await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.parts.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(content_range("bytes 0-99/1000"), Some((0, 99, 1000)));
        assert_eq!(content_range("bytes 900-999/1000"), Some((900, 999, 1000)));
        assert_eq!(content_range("bytes */1000"), None);
        assert_eq!(content_range("items 0-1/2"), None);
    }

    #[test]
    fn list_prefixes_end_with_a_slash() {
        assert_eq!(list_prefix(None), "");
        assert_eq!(list_prefix(Some(&Path::from("a/b"))), "a/b/");
        assert_eq!(list_prefix(Some(&Path::from(""))), "");
    }
}
