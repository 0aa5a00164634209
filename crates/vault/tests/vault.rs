//! Round trip, tamper detection, wrong keys and rotation, on a real store.

use std::os::unix::fs::PermissionsExt;

use chrono::Utc;
use palisade_store::Store;
use palisade_vault::{rotate, rotate_master_key_file, MasterKey, Vault, VaultError};

async fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("p.db").to_str().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn seals_and_opens_and_each_seal_differs() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let master = MasterKey::generate("test").unwrap();
    let vault = Vault::open(&store, &master, Utc::now()).await.unwrap();
    let a = vault.seal(b"JBSWY3DPEHPK3PXP", "totp:1").unwrap();
    let b = vault.seal(b"JBSWY3DPEHPK3PXP", "totp:1").unwrap();
    assert_ne!(a, b, "fresh nonce per seal");
    assert!(a.starts_with("pv1:"), "{a}");
    assert!(!a.contains("JBSWY3DP"));
    assert_eq!(
        vault.open_sealed(&a, "totp:1").unwrap().as_slice(),
        b"JBSWY3DPEHPK3PXP"
    );
    // The same store and key later (a restart) opens it too.
    let again = Vault::open(&store, &master, Utc::now()).await.unwrap();
    assert_eq!(
        again.open_sealed(&b, "totp:1").unwrap().as_slice(),
        b"JBSWY3DPEHPK3PXP"
    );
    assert_eq!(store.vault_data_keys().await.unwrap().len(), 1);
}

#[tokio::test]
async fn tampering_or_another_context_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let master = MasterKey::generate("test").unwrap();
    let vault = Vault::open(&store, &master, Utc::now()).await.unwrap();
    let sealed = vault.seal(b"secret", "totp:1").unwrap();
    // Flip one bit of the ciphertext.
    let mut bytes = sealed.clone().into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(bytes).unwrap();
    assert!(matches!(
        vault.open_sealed(&flipped, "totp:1"),
        Err(VaultError::Tampered)
    ));
    // Copied to another user's record.
    assert!(matches!(
        vault.open_sealed(&sealed, "totp:2"),
        Err(VaultError::Tampered)
    ));
    // Truncated, or not ours at all.
    assert!(matches!(
        vault.open_sealed(&sealed[..20], "totp:1"),
        Err(VaultError::Tampered | VaultError::Malformed(_))
    ));
    assert!(matches!(
        vault.open_sealed("plain", "totp:1"),
        Err(VaultError::Malformed(_))
    ));
    let unknown = format!("pv1:0000000000000000:{}", &sealed[22..]);
    let error = vault.open_sealed(&unknown, "totp:1").unwrap_err();
    assert_eq!(
        error.to_string(),
        "sealed value refers to unknown data key 0000000000000000"
    );
}

#[tokio::test]
async fn a_wrong_master_key_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let right = MasterKey::generate("test").unwrap();
    Vault::open(&store, &right, Utc::now()).await.unwrap();
    let wrong = MasterKey::parse(&"ab".repeat(32), "PALISADE_MASTER_KEY").unwrap();
    let error = Vault::open(&store, &wrong, Utc::now()).await.unwrap_err();
    let message = error.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("wrong master key"), "{message}");
    assert!(
        message.contains(right.id()) && message.contains(wrong.id()),
        "{message}"
    );
    assert!(
        !message.contains(&"ab".repeat(32)),
        "no key material in errors"
    );

    // A stored key altered in place (same master id) fails authentication.
    let mut keys = store.vault_data_keys().await.unwrap();
    let replacement = if &keys[0].wrapped[30..32] == "00" {
        "11"
    } else {
        "00"
    };
    keys[0].wrapped.replace_range(30..32, replacement);
    store
        .rewrap_vault_data_keys(right.id(), &keys)
        .await
        .unwrap();
    let error = Vault::open(&store, &right, Utc::now()).await.unwrap_err();
    assert!(matches!(error, VaultError::UnwrapFailed { .. }), "{error}");
}

#[test]
fn master_keys_parse_and_refuse_bad_input() {
    let key = MasterKey::parse(&format!("  {}\n", "0f".repeat(32)), "env").unwrap();
    assert_eq!(key.id().len(), 16);
    assert!(!format!("{key:?}").contains("0f0f"), "Debug hides the key");
    for bad in ["", "abc", &"zz".repeat(32), &"0f".repeat(33)] {
        let error = MasterKey::parse(bad, "PALISADE_MASTER_KEY").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("master key PALISADE_MASTER_KEY: "),
            "{error}"
        );
    }
}

#[test]
fn the_key_file_is_created_0600_and_reused_and_a_readable_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("home/master.key");
    let first = MasterKey::load_from(None, &path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let second = MasterKey::load_from(None, &path).unwrap();
    assert_eq!(first.id(), second.id());
    // The environment wins over the file.
    let env = MasterKey::load_from(Some("11".repeat(32)), &path).unwrap();
    assert_ne!(env.id(), first.id());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = MasterKey::load_from(None, &path).unwrap_err().to_string();
    assert!(error.contains("readable by others (mode 644)"), "{error}");
}

#[tokio::test]
async fn rotation_rewraps_data_keys_and_old_values_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let path = dir.path().join("master.key");
    let old = MasterKey::load_or_create_file(&path).unwrap();
    let vault = Vault::open(&store, &old, Utc::now()).await.unwrap();
    let sealed = vault.seal(b"seed", "totp:7").unwrap();

    let rotation = rotate_master_key_file(&store, &path).await.unwrap();
    assert_eq!(rotation.old_key_id, old.id());
    assert_eq!(rotation.data_keys, 1);
    let new = MasterKey::read_file(&path).unwrap();
    assert_eq!(new.id(), rotation.new_key_id);
    assert_ne!(new.id(), old.id());
    assert!(!dir.path().join("master.key.new").exists());

    let vault = Vault::open(&store, &new, Utc::now()).await.unwrap();
    assert_eq!(
        vault.open_sealed(&sealed, "totp:7").unwrap().as_slice(),
        b"seed"
    );
    assert!(matches!(
        Vault::open(&store, &old, Utc::now()).await.unwrap_err(),
        VaultError::WrongMasterKey { .. }
    ));

    // Rotating from the environment: old key in, new key given.
    let next = MasterKey::generate("PALISADE_MASTER_KEY").unwrap();
    assert_eq!(rotate(&store, &new, &next).await.unwrap(), 1);
    let vault = Vault::open(&store, &next, Utc::now()).await.unwrap();
    assert_eq!(
        vault.open_sealed(&sealed, "totp:7").unwrap().as_slice(),
        b"seed"
    );
    // A rotation from a key that no longer wraps anything is refused, changing nothing.
    assert!(rotate(&store, &new, &old).await.is_err());
    assert!(Vault::open(&store, &next, Utc::now()).await.is_ok());
}

#[tokio::test]
async fn an_interrupted_file_rotation_is_completed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let path = dir.path().join("master.key");
    let old = MasterKey::load_or_create_file(&path).unwrap();
    Vault::open(&store, &old, Utc::now()).await.unwrap();
    // Simulate a stop between the re-wrap and the rename.
    let next = MasterKey::generate("x").unwrap();
    next.write_new_file(&dir.path().join("master.key.new"))
        .unwrap();
    rotate(&store, &old, &next).await.unwrap();
    let rotation = rotate_master_key_file(&store, &path).await.unwrap();
    assert_eq!(rotation.new_key_id, next.id());
    assert_eq!(MasterKey::read_file(&path).unwrap().id(), next.id());
    assert!(Vault::open(&store, &next, Utc::now()).await.is_ok());
}
