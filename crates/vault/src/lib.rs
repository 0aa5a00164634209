//! Envelope encryption of the secrets Palisade's server holds (TOTP seeds
//! first; OIDC client secrets and webhook URLs can use the same).
//!
//! - A **master key** (256 bits) never touches the database: it is read from
//!   `PALISADE_MASTER_KEY` (64 hex characters) or from `$PALISADE_HOME/master.key`,
//!   which is created with mode 0600 on first use and refused if others can read it.
//! - **Data keys** (256 bits, random) encrypt the secrets with AES-256-GCM.
//!   They are stored only wrapped (AES-256-GCM under the master key), with the
//!   id of the master key that wrapped them.
//! - A **sealed value** is `pv1:<data key id>:<hex(nonce | ciphertext | tag)>`.
//!   The data key id and a caller-given context (e.g. `totp:42`) are
//!   authenticated as associated data, so a sealed value copied to another
//!   record or altered in any byte fails to open.
//! - [`rotate`] re-wraps every data key under a new master key in one
//!   transaction; sealed values are untouched and stay readable.
//!
//! Crypto is aws-lc-rs (already linked for TLS). Nonces are 96 random bits
//! per seal; a data key seals far fewer values than the 2^32 limit for random nonces.

mod master;

use std::collections::HashMap;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use chrono::{DateTime, Utc};
use palisade_store::{Store, StoredDataKey};
use zeroize::Zeroizing;

pub use master::{
    rotate_master_key_file, FileRotation, MasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE,
};

/// Everything that can go wrong in the vault; messages are one line and
/// never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("master key {source_name}: {reason}")]
    MasterKeyFormat { source_name: String, reason: String },
    #[error("master key file {path}: {source}")]
    MasterKeyIo {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "data key {key_id} is wrapped by master key {wrapped_by}, but the master key in use \
         ({source_name}) is {in_use}: wrong master key"
    )]
    WrongMasterKey {
        key_id: String,
        wrapped_by: String,
        in_use: String,
        source_name: String,
    },
    #[error("data key {key_id} cannot be unwrapped: the stored key was altered or the master key is wrong")]
    UnwrapFailed { key_id: String },
    #[error("sealed value refers to unknown data key {0}")]
    UnknownDataKey(String),
    #[error("sealed value is malformed: {0}")]
    Malformed(&'static str),
    #[error("sealed value failed authentication: it was altered or belongs to another record")]
    Tampered,
    #[error("no secure randomness available")]
    Random,
    #[error(transparent)]
    Store(#[from] palisade_store::Error),
}

pub type Result<T, E = VaultError> = std::result::Result<T, E>;

const SEALED_PREFIX: &str = "pv1";
const KEY_LEN: usize = 32;

pub(crate) fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut bytes = Zeroizing::new([0u8; N]);
    aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| VaultError::Random)?;
    Ok(bytes)
}

/// AES-256-GCM with a fresh random nonce: `nonce | ciphertext | tag`.
pub(crate) fn seal_with(key: &[u8; KEY_LEN], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| VaultError::Random)?);
    let nonce_bytes = random_bytes::<NONCE_LEN>()?;
    let mut out = nonce_bytes.to_vec();
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(*nonce_bytes),
        Aad::from(aad),
        &mut in_out,
    )
    .map_err(|_| VaultError::Random)?;
    out.extend_from_slice(&in_out);
    Ok(out)
}

/// Opens what [`seal_with`] made; `None` if authentication fails.
pub(crate) fn open_with(
    key: &[u8; KEY_LEN],
    sealed: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return None;
    }
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut in_out = Zeroizing::new(body.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut in_out)
        .ok()?
        .len();
    in_out.truncate(plain_len);
    Some(in_out)
}

fn wrap_aad(key_id: &str) -> Vec<u8> {
    format!("palisade-vault data key {key_id}").into_bytes()
}

fn seal_aad(key_id: &str, context: &str) -> Vec<u8> {
    format!("palisade-vault {key_id} {context}").into_bytes()
}

/// A data key in clear, in memory only.
struct DataKey {
    id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl DataKey {
    fn generate() -> Result<DataKey> {
        let id = hex::encode(*random_bytes::<8>()?);
        Ok(DataKey {
            id,
            key: random_bytes::<KEY_LEN>()?,
        })
    }

    fn wrap(&self, master: &MasterKey) -> Result<StoredDataKey> {
        let wrapped = seal_with(master.bytes(), self.key.as_ref(), &wrap_aad(&self.id))?;
        Ok(StoredDataKey {
            id: self.id.clone(),
            master_key_id: master.id().to_string(),
            wrapped: hex::encode(wrapped),
        })
    }

    fn unwrap(stored: &StoredDataKey, master: &MasterKey) -> Result<DataKey> {
        if stored.master_key_id != master.id() {
            return Err(VaultError::WrongMasterKey {
                key_id: stored.id.clone(),
                wrapped_by: stored.master_key_id.clone(),
                in_use: master.id().to_string(),
                source_name: master.source().to_string(),
            });
        }
        let failed = || VaultError::UnwrapFailed {
            key_id: stored.id.clone(),
        };
        let wrapped = hex::decode(&stored.wrapped).map_err(|_| failed())?;
        let plain =
            open_with(master.bytes(), &wrapped, &wrap_aad(&stored.id)).ok_or_else(failed)?;
        let key: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| failed())?;
        Ok(DataKey {
            id: stored.id.clone(),
            key: Zeroizing::new(key),
        })
    }
}

/// The unwrapped data keys, ready to seal and open values. Its `Debug`
/// shows key ids only.
pub struct Vault {
    keys: HashMap<String, DataKey>,
    active: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("active", &self.active)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Vault {
    /// Unwraps every data key in the store with `master`; on a store without
    /// any, creates the first one. The newest key seals new values.
    pub async fn open(store: &Store, master: &MasterKey, now: DateTime<Utc>) -> Result<Vault> {
        let mut stored = store.vault_data_keys().await?;
        if stored.is_empty() {
            let key = DataKey::generate()?.wrap(master)?;
            store.insert_vault_data_key(&key, now).await?;
            stored = store.vault_data_keys().await?;
        }
        let mut keys = HashMap::new();
        let mut active = String::new();
        for key in &stored {
            let key = DataKey::unwrap(key, master)?;
            active = key.id.clone();
            keys.insert(key.id.clone(), key);
        }
        Ok(Vault { keys, active })
    }

    /// Encrypts `plaintext` for the record named by `context` (e.g. `totp:42`).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String> {
        let key = self
            .keys
            .get(&self.active)
            .ok_or_else(|| VaultError::UnknownDataKey(self.active.clone()))?;
        let body = seal_with(&key.key, plaintext, &seal_aad(&key.id, context))?;
        Ok(format!("{SEALED_PREFIX}:{}:{}", key.id, hex::encode(body)))
    }

    /// Decrypts a value sealed for `context`.
    pub fn open_sealed(&self, sealed: &str, context: &str) -> Result<Zeroizing<Vec<u8>>> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(SEALED_PREFIX), Some(key_id), Some(body)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Malformed("expected pv1:<key id>:<hex>"));
        };
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| VaultError::UnknownDataKey(key_id.to_string()))?;
        let body = hex::decode(body).map_err(|_| VaultError::Malformed("body is not hex"))?;
        open_with(&key.key, &body, &seal_aad(key_id, context)).ok_or(VaultError::Tampered)
    }
}

/// Re-wraps every data key under `new` (in one transaction); returns how
/// many. Sealed values need no change. Errors if `old` cannot unwrap them.
pub async fn rotate(store: &Store, old: &MasterKey, new: &MasterKey) -> Result<usize> {
    let stored = store.vault_data_keys().await?;
    let mut rewrapped = Vec::with_capacity(stored.len());
    for key in &stored {
        rewrapped.push(DataKey::unwrap(key, old)?.wrap(new)?);
    }
    store.rewrap_vault_data_keys(old.id(), &rewrapped).await?;
    Ok(rewrapped.len())
}
