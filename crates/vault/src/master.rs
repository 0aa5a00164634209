//! The master key: from the environment or a 0600 file, never from the database.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::digest::{digest, SHA256};
use palisade_store::Store;
use zeroize::Zeroizing;

use crate::{random_bytes, Result, VaultError, KEY_LEN};

/// The environment variable that holds the master key (64 hex characters);
/// when set, the key file is not used.
pub const MASTER_KEY_ENV: &str = "PALISADE_MASTER_KEY";
/// The master key file's name in `$PALISADE_HOME`.
pub const MASTER_KEY_FILE: &str = "master.key";

/// A 256-bit master key with its public id (the first 64 bits of a SHA-256
/// over it, so the id reveals nothing usable). `Debug` shows the id only.
pub struct MasterKey {
    id: String,
    bytes: Zeroizing<[u8; KEY_LEN]>,
    source: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>, source: String) -> MasterKey {
        let mut input = b"palisade master key id\0".to_vec();
        input.extend_from_slice(bytes.as_ref());
        let id = hex::encode(&digest(&SHA256, &input).as_ref()[..8]);
        input.iter_mut().for_each(|b| *b = 0);
        MasterKey { id, bytes, source }
    }

    /// A new random key; `source` names where it will live (for messages).
    pub fn generate(source: impl Into<String>) -> Result<MasterKey> {
        Ok(MasterKey::from_bytes(
            random_bytes::<KEY_LEN>()?,
            source.into(),
        ))
    }

    /// Parses 64 hex characters (surrounding whitespace ignored).
    pub fn parse(text: &str, source: impl Into<String>) -> Result<MasterKey> {
        let source = source.into();
        let bad = |reason: &str| VaultError::MasterKeyFormat {
            source_name: source.clone(),
            reason: reason.to_string(),
        };
        let text = text.trim();
        if text.len() != KEY_LEN * 2 {
            return Err(bad("expected 64 hex characters (256 bits)"));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(text, bytes.as_mut()).map_err(|_| bad("not hexadecimal"))?;
        Ok(MasterKey::from_bytes(bytes, source))
    }

    /// The key from `PALISADE_MASTER_KEY` if set, else from `home/master.key`
    /// (created, 0600, if absent).
    pub fn load(home: &Path) -> Result<MasterKey> {
        Self::load_from(
            std::env::var(MASTER_KEY_ENV).ok(),
            &home.join(MASTER_KEY_FILE),
        )
    }

    /// [`MasterKey::load`] with the environment value given.
    pub fn load_from(env_value: Option<String>, file: &Path) -> Result<MasterKey> {
        match env_value.filter(|v| !v.trim().is_empty()) {
            Some(value) => MasterKey::parse(&Zeroizing::new(value), MASTER_KEY_ENV),
            None => MasterKey::load_or_create_file(file),
        }
    }

    /// Reads the key file, or creates it with a new key if it does not exist.
    pub fn load_or_create_file(path: &Path) -> Result<MasterKey> {
        match MasterKey::read_file(path) {
            Err(VaultError::MasterKeyIo { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                let key = MasterKey::generate(path.display().to_string())?;
                key.write_new_file(path)?;
                Ok(key)
            }
            other => other,
        }
    }

    /// Reads a key file, refusing one that others than its owner can read.
    pub fn read_file(path: &Path) -> Result<MasterKey> {
        let io = |source| VaultError::MasterKeyIo {
            path: path.display().to_string(),
            source,
        };
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(VaultError::MasterKeyFormat {
                source_name: path.display().to_string(),
                reason: format!(
                    "readable by others (mode {:o}); run chmod 600 on it",
                    mode & 0o777
                ),
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        MasterKey::parse(&text, path.display().to_string())
    }

    /// Writes the key to a new file (mode 0600); fails if the file exists.
    pub fn write_new_file(&self, path: &Path) -> Result<()> {
        let io = |source| VaultError::MasterKeyIo {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(self.bytes.as_ref())));
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// The key as 64 hex characters, for handing to an operator once.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.bytes.as_ref()))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the key came from (a file path or the environment variable's name).
    pub fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

/// What [`rotate_master_key_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRotation {
    pub old_key_id: String,
    pub new_key_id: String,
    pub data_keys: usize,
}

/// Rotates the master key kept in `path`: writes a new key to `path.new`,
/// re-wraps every data key under it in one transaction, then renames
/// `path.new` over `path`. If a previous rotation stopped after the
/// re-wrap, the pending `path.new` is the key in use and is put in place.
pub async fn rotate_master_key_file(store: &Store, path: &Path) -> Result<FileRotation> {
    let pending = pending_path(path);
    let old = MasterKey::read_file(path)?;
    if pending.exists() {
        let next = MasterKey::read_file(&pending)?;
        let keys = store.vault_data_keys().await?;
        if !keys.is_empty() && keys.iter().all(|k| k.master_key_id == next.id()) {
            finish(&pending, path)?;
            return Ok(FileRotation {
                old_key_id: old.id().to_string(),
                new_key_id: next.id().to_string(),
                data_keys: keys.len(),
            });
        }
        std::fs::remove_file(&pending).map_err(|source| VaultError::MasterKeyIo {
            path: pending.display().to_string(),
            source,
        })?;
    }
    let new = MasterKey::generate(path.display().to_string())?;
    new.write_new_file(&pending)?;
    let data_keys = crate::rotate(store, &old, &new).await?;
    finish(&pending, path)?;
    Ok(FileRotation {
        old_key_id: old.id().to_string(),
        new_key_id: new.id().to_string(),
        data_keys,
    })
}

fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn finish(pending: &Path, path: &Path) -> Result<()> {
    std::fs::rename(pending, path).map_err(|source| VaultError::MasterKeyIo {
        path: path.display().to_string(),
        source,
    })
}
