//! Where processed images live: a key-addressed store with two backends, a local directory
//! (the default) and an S3-compatible bucket (`ROOST_MEDIA_STORE=s3://bucket/prefix`,
//! through the `object_store` crate: AWS S3, MinIO, Garage, Ceph, R2 …).
//!
//! Callers only ever see keys (`<32 hex>.jpg|png`), never paths. Every key is checked by
//! `is_valid_key` before it reaches the filesystem or the bucket, so no request can name a
//! file outside the media directory or the prefix. A write is whole or absent on both
//! backends (a rename into place; a single S3 `PUT`), so a reader never sees part of an
//! image.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    RetryConfig,
};
use tokio::io::AsyncWriteExt;

use crate::config::ObjectStorage;

use super::pipeline::OutputFormat;

/// Number of random bytes in a key: 128 bits, written as 32 hex digits.
const KEY_RANDOM_BYTES: usize = 16;

/// The media store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MediaStore {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    /// Files named by their key, flat in one directory.
    Local(PathBuf),
    /// Objects named `prefix/key` in a bucket.
    Object {
        store: Arc<dyn ObjectStore>,
        prefix: String,
    },
}

/// Longest a connection to the bucket takes to open.
const BUCKET_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest one request to the bucket takes (an image is at most a few megabytes).
const BUCKET_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest a request to the bucket is retried for.
const BUCKET_RETRY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long browsers and proxies may keep a file: keys are never reused.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

impl MediaStore {
    /// A store keeping files in `root` (the configured media directory), created on first
    /// write if missing.
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Self {
            backend: Backend::Local(root.into()),
        }
    }

    /// A store keeping objects in the bucket `storage` describes, under its prefix. Nothing
    /// is sent until the first use (see [`MediaStore::check`]).
    pub fn object_storage(storage: &ObjectStorage) -> anyhow::Result<Self> {
        // The bucket's TLS (rustls, through object_store's reqwest) uses ring; installing
        // it twice (a second application in one process) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // A request to the bucket is part of a client's request: a bucket that does not
        // answer fails it within seconds (a 503) rather than after the crate's default of
        // three minutes of retries.
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: BUCKET_RETRY_TIMEOUT,
            ..RetryConfig::default()
        };
        let options = ClientOptions::new()
            .with_connect_timeout(BUCKET_CONNECT_TIMEOUT)
            .with_timeout(BUCKET_REQUEST_TIMEOUT);
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&storage.bucket)
            .with_region(&storage.region)
            .with_retry(retry)
            .with_client_options(options);
        if let Some(endpoint) = &storage.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let (Some(id), Some(secret)) = (&storage.access_key_id, &storage.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        if let Some(token) = &storage.session_token {
            builder = builder.with_token(token);
        }
        let store = builder
            .build()
            .context("configuring the media bucket (ROOST_MEDIA_STORE)")?;
        Ok(Self {
            backend: Backend::Object {
                store: Arc::new(store),
                prefix: storage.prefix.clone(),
            },
        })
    }

    /// Where files are kept, for the log: a directory, or `s3://bucket/prefix`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local(root) => root.display().to_string(),
            Backend::Object { store, prefix } => format!("{store} under {prefix:?}"),
        }
    }

    /// Whether the store answers: a bucket is asked for an object that does not exist,
    /// which also checks the credentials. A directory is always there (created on first
    /// write).
    pub async fn check(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Local(_) => Ok(()),
            Backend::Object { store, prefix } => {
                match store.head(&object_path(prefix, ".roost-check")).await {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(error) => Err(error).context("reaching the media bucket"),
                }
            }
        }
    }

    /// Stores `bytes` under a fresh random key ending in `format`'s extension, and returns it.
    ///
    /// A file is written under a temporary name and renamed into place; an object is one
    /// `PUT`, with its content type and cache lifetime (for a CDN serving the bucket). A
    /// reader never sees a partial image.
    pub async fn put(&self, bytes: Vec<u8>, format: OutputFormat) -> anyhow::Result<String> {
        let key = format!("{}.{}", random_hex()?, format.extension());
        match &self.backend {
            Backend::Object { store, prefix } => {
                let attributes = Attributes::from_iter([
                    (Attribute::ContentType, format.content_type()),
                    (Attribute::CacheControl, CACHE_CONTROL),
                ]);
                let options = PutOptions {
                    attributes,
                    ..PutOptions::default()
                };
                store
                    .put_opts(&object_path(prefix, &key), PutPayload::from(bytes), options)
                    .await
                    .with_context(|| format!("storing media object {key}"))?;
            }
            Backend::Local(root) => {
                tokio::fs::create_dir_all(root)
                    .await
                    .with_context(|| format!("creating media directory {}", root.display()))?;
                let temporary = root.join(format!(".{}.tmp", random_hex()?));
                if let Err(error) = write_then_rename(&temporary, &root.join(&key), &bytes).await {
                    // Best effort: a leftover temporary file is harmless but untidy.
                    let _ = tokio::fs::remove_file(&temporary).await;
                    return Err(error);
                }
            }
        }
        Ok(key)
    }

    /// What is stored under `key`, to be streamed, or `None` when there is none (an invalid
    /// key included: keys may come from URLs). An error means the store did not answer.
    pub async fn open(&self, key: &str) -> anyhow::Result<Option<StoredFile>> {
        let Some(content_type) = content_type(key) else {
            return Ok(None);
        };
        match &self.backend {
            Backend::Local(root) => match tokio::fs::File::open(root.join(key)).await {
                Ok(file) => {
                    let length = file.metadata().await.ok().map(|metadata| metadata.len());
                    Ok(Some(StoredFile {
                        content_type,
                        length,
                        bytes: tokio_util::io::ReaderStream::new(file).boxed(),
                    }))
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(error).with_context(|| format!("opening media file {key}")),
            },
            Backend::Object { store, prefix } => match store.get(&object_path(prefix, key)).await {
                Ok(object) => Ok(Some(StoredFile {
                    content_type,
                    length: Some(object.meta.size),
                    bytes: object.into_stream().map_err(std::io::Error::other).boxed(),
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error).with_context(|| format!("reading media object {key}")),
            },
        }
    }

    /// The bytes and content type stored under `key`, or `None` when there is none (an
    /// invalid key included: keys may come from URLs).
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<(Vec<u8>, &'static str)>> {
        let Some(content_type) = content_type(key) else {
            return Ok(None);
        };
        match &self.backend {
            Backend::Local(root) => match tokio::fs::read(root.join(key)).await {
                Ok(bytes) => Ok(Some((bytes, content_type))),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(error).with_context(|| format!("reading media file {key}")),
            },
            Backend::Object { store, prefix } => match store.get(&object_path(prefix, key)).await {
                Ok(object) => {
                    let bytes = object
                        .bytes()
                        .await
                        .with_context(|| format!("reading media object {key}"))?;
                    Ok(Some((bytes.to_vec(), content_type)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error).with_context(|| format!("reading media object {key}")),
            },
        }
    }

    /// Removes what is stored under `key`; nothing stored there is fine too. An invalid key
    /// is an error, since keys passed here come from our own records.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        anyhow::ensure!(is_valid_key(key), "not a media key: {key:?}");
        match &self.backend {
            Backend::Local(root) => match tokio::fs::remove_file(root.join(key)).await {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(error).with_context(|| format!("deleting media file {key}")),
            },
            Backend::Object { store, prefix } => {
                match store.delete(&object_path(prefix, key)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(error) => {
                        Err(error).with_context(|| format!("deleting media object {key}"))
                    }
                }
            }
        }
    }
}

/// The object of `key` under `prefix` (empty for the bucket's root).
fn object_path(prefix: &str, key: &str) -> ObjectPath {
    if prefix.is_empty() {
        ObjectPath::from(key)
    } else {
        ObjectPath::from(format!("{prefix}/{key}"))
    }
}

/// A stored file being read: its bytes arrive as a stream, so serving an image never holds
/// it whole in memory.
pub struct StoredFile {
    pub content_type: &'static str,
    /// Its size in bytes, when the store says.
    pub length: Option<u64>,
    pub bytes: BoxStream<'static, std::io::Result<Bytes>>,
}

/// Whether `key` has exactly the shape `put` produces: 32 lowercase hex digits, a dot, and
/// `jpg` or `png`. Nothing else (`..`, slashes, other extensions) can reach the filesystem.
pub fn is_valid_key(key: &str) -> bool {
    content_type(key).is_some()
}

/// The content type of a valid key, from its extension; `None` for an invalid key.
fn content_type(key: &str) -> Option<&'static str> {
    let (stem, extension) = key.split_once('.')?;
    let is_hex = |byte: u8| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
    if stem.len() != KEY_RANDOM_BYTES * 2 || !stem.bytes().all(is_hex) {
        return None;
    }
    [OutputFormat::Jpeg, OutputFormat::Png]
        .into_iter()
        .find(|format| format.extension() == extension)
        .map(OutputFormat::content_type)
}

async fn write_then_rename(temporary: &Path, target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::create(temporary)
        .await
        .with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(bytes)
        .await
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.sync_all()
        .await
        .with_context(|| format!("syncing {}", temporary.display()))?;
    drop(file);
    tokio::fs::rename(temporary, target)
        .await
        .with_context(|| format!("renaming into {}", target.display()))
}

/// 32 lowercase hex digits from the operating system's random source.
fn random_hex() -> anyhow::Result<String> {
    let mut bytes = [0u8; KEY_RANDOM_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let directory = tempfile::tempdir().expect("temp dir");
        // A directory that does not exist yet is created on first write.
        let root = directory.path().join("media");
        let store = MediaStore::local(&root);

        let key = store
            .put(b"jpeg bytes".to_vec(), OutputFormat::Jpeg)
            .await
            .expect("put");
        assert!(is_valid_key(&key), "{key}");
        assert!(key.ends_with(".jpg"));
        assert_eq!(
            store.get(&key).await.expect("get"),
            Some((b"jpeg bytes".to_vec(), "image/jpeg"))
        );

        let png_key = store
            .put(b"png bytes".to_vec(), OutputFormat::Png)
            .await
            .expect("put png");
        assert!(png_key.ends_with(".png"));
        assert_ne!(key, png_key);
        let (_, content_type) = store.get(&png_key).await.expect("get").expect("stored");
        assert_eq!(content_type, "image/png");

        store.delete(&key).await.expect("delete");
        assert_eq!(store.get(&key).await.expect("get after delete"), None);
        // Deleting again, or something never stored, is fine.
        store.delete(&key).await.expect("delete again");

        // Only the two final files were ever left behind: no temporary files.
        let mut names = Vec::new();
        let mut entries = tokio::fs::read_dir(&root).await.expect("read dir");
        while let Some(entry) = entries.next_entry().await.expect("entry") {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        assert_eq!(names, vec![png_key]);
    }

    #[tokio::test]
    async fn missing_and_invalid_keys_are_not_found() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = MediaStore::local(directory.path());
        let absent = format!("{}.png", "0".repeat(32));
        assert_eq!(store.get(&absent).await.expect("get"), None);
        assert_eq!(store.get("../secret.png").await.expect("get"), None);
        assert!(store.delete("../../etc/passwd").await.is_err());
    }

    #[tokio::test]
    async fn path_traversal_never_reaches_the_filesystem() {
        let directory = tempfile::tempdir().expect("temp dir");
        let root = directory.path().join("media");
        tokio::fs::create_dir_all(&root).await.expect("mkdir");
        // A file beside the media directory, named like a key relative to it.
        let outside = format!("{}.jpg", "a".repeat(32));
        tokio::fs::write(directory.path().join(&outside), b"private")
            .await
            .expect("write outside");
        let store = MediaStore::local(&root);
        let sneaky = format!("../{outside}");
        assert_eq!(store.get(&sneaky).await.expect("get"), None);
        assert!(store.delete(&sneaky).await.is_err());
        assert!(directory.path().join(&outside).exists());
    }

    /// The HTTPS client of a bucket builds with the TLS provider installed by
    /// `object_storage` (rustls panics when it has none): a bucket at an address where
    /// nothing listens is an error, quickly, not a panic.
    #[tokio::test]
    async fn an_https_bucket_that_is_not_there_is_an_error() {
        let storage = ObjectStorage {
            bucket: "roost-media".into(),
            prefix: "images".into(),
            region: "us-east-1".into(),
            endpoint: Some("https://127.0.0.1:1".into()),
            access_key_id: Some("key".into()),
            secret_access_key: Some("secret".into()),
            session_token: None,
        };
        let store = MediaStore::object_storage(&storage).expect("configured");
        let started = std::time::Instant::now();
        assert!(store.check().await.is_err());
        assert!(store.get(&format!("{}.jpg", "0".repeat(32))).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn only_our_own_key_shape_is_valid() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert!(is_valid_key(&format!("{hex}.jpg")));
        assert!(is_valid_key(&format!("{hex}.png")));

        for key in [
            String::new(),
            ".jpg".to_owned(),
            format!("{hex}.gif"),
            format!("{hex}.JPG"),
            format!("{hex}.jpeg"),
            format!("{hex}.jpg.png"),
            format!("{hex}.jpg/"),
            hex.to_owned(),
            format!("{}.jpg", hex.to_uppercase()),
            format!("{}.jpg", &hex[1..]),
            format!("{hex}0.jpg"),
            format!("../{}.jpg", &hex[3..]),
            format!("/{}.jpg", &hex[1..]),
            format!("..{}.jpg", &hex[2..]),
            format!("{}/..jpg", &hex[1..]),
            format!("{}\\.jpg", &hex[1..]),
            format!("{}\0.jpg", &hex[1..]),
            format!("{}g.jpg", &hex[1..]),
            "../../../../etc/passwd".to_owned(),
        ] {
            assert!(!is_valid_key(&key), "{key:?} was accepted");
        }
    }

    #[test]
    fn random_keys_differ() {
        let first = random_hex().expect("random");
        let second = random_hex().expect("random");
        assert_eq!(first.len(), 32);
        assert_ne!(first, second);
    }
}
