//! `palisade users reset-mfa` and `palisade keys rotate` as a user runs
//! them, on a real database file and key file.

use std::os::unix::fs::PermissionsExt;

use chrono::Utc;
use palisade_store::{NewSession, Store};
use tempfile::TempDir;
mod console;
use console::palisade;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn store(home: &TempDir) -> Store {
    Store::open(home.path().join("palisade.db").to_str().expect("utf-8"))
        .await
        .expect("store")
}

fn create_user(home: &TempDir, name: &str) {
    palisade(home)
        .args([
            "users",
            "create",
            name,
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .write_stdin("a perfectly fine passphrase\n")
        .assert()
        .success();
}

fn audit_json(home: &TempDir) -> Vec<serde_json::Value> {
    let out = palisade(home)
        .args(["audit", "list", "-f", "json"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // One JSON record per line.
    text.lines()
        .map(|line| serde_json::from_str(line).expect("json record"))
        .collect()
}

fn has_record(records: &[serde_json::Value], actor: &str, action: &str) -> bool {
    records
        .iter()
        .any(|r| r["actor"] == actor && r["action"] == action)
}

#[test]
fn reset_mfa_removes_the_second_factor_and_ends_sessions() {
    let home = tempfile::tempdir().expect("home");
    create_user(&home, "alice");
    let rt = runtime();
    let user_id = rt.block_on(async {
        let store = store(&home).await;
        let user = store.user_by_name("alice").await.unwrap().unwrap();
        let now = Utc::now();
        store
            .start_totp_enrolment(user.id, "pv1:sealed", now)
            .await
            .unwrap();
        store
            .confirm_totp(user.id, 1, &["ab".repeat(32)], now)
            .await
            .unwrap();
        let session = NewSession {
            id_hash: "cd".repeat(32),
            user_id: user.id,
            csrf_token: "ef".repeat(32),
            expires_at: now + chrono::Duration::hours(1),
        };
        store.create_session(&session, now).await.unwrap();
        assert!(store.has_mfa(user.id).await.unwrap());
        store.close().await;
        user.id
    });

    palisade(&home)
        .args(["users", "reset-mfa", "alice"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "alice: second factor removed, sessions ended",
        ));
    rt.block_on(async {
        let store = store(&home).await;
        assert!(!store.has_mfa(user_id).await.unwrap());
        assert_eq!(store.unused_recovery_codes(user_id).await.unwrap(), 0);
        assert!(store
            .session_with_user(&"cd".repeat(32))
            .await
            .unwrap()
            .is_none());
        store.close().await;
    });
    palisade(&home)
        .args(["users", "reset-mfa", "nobody"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no user named `nobody`"));
    assert!(has_record(&audit_json(&home), "cli:tester", "mfa.reset"));
}

#[test]
fn keys_rotate_replaces_the_key_file_and_keeps_sealed_values_readable() {
    let home = tempfile::tempdir().expect("home");
    create_user(&home, "alice");
    let key_file = home.path().join("master.key");
    let rt = runtime();
    // A value sealed under the first key (created 0600 on first use).
    let sealed = rt.block_on(async {
        let store = store(&home).await;
        let master = palisade_vault::MasterKey::load_from(None, &key_file).unwrap();
        let vault = palisade_vault::Vault::open(&store, &master, Utc::now())
            .await
            .unwrap();
        store.close().await;
        vault.seal(b"JBSWY3DPEHPK3PXP", "totp:1").unwrap()
    });
    let first = std::fs::read_to_string(&key_file).unwrap();

    let out = palisade(&home).args(["keys", "rotate"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("1 data keys re-wrapped"), "{text}");
    let second = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(first, second);
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!home.path().join("master.key.new").exists());
    rt.block_on(async {
        let store = store(&home).await;
        let master = palisade_vault::MasterKey::read_file(&key_file).unwrap();
        let vault = palisade_vault::Vault::open(&store, &master, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            vault.open_sealed(&sealed, "totp:1").unwrap().as_slice(),
            b"JBSWY3DPEHPK3PXP"
        );
        store.close().await;
    });
    let records = audit_json(&home);
    assert!(has_record(&records, "cli:tester", "keys.rotate"));

    // Keys from the environment: the new key comes from another variable.
    let current = second.trim().to_string();
    let next = "7".repeat(64);
    palisade(&home)
        .env("PALISADE_MASTER_KEY", &current)
        .env("NEXT_KEY", &next)
        .args(["keys", "rotate", "--new-key-env", "NEXT_KEY"])
        .assert()
        .success()
        .stdout(predicates::str::contains("now set PALISADE_MASTER_KEY"));
    // The old key no longer opens the vault: one line, exit 2, no key material.
    let wrong = palisade(&home)
        .env("PALISADE_MASTER_KEY", &current)
        .env("NEXT_KEY", "8".repeat(64))
        .args(["keys", "rotate", "--new-key-env", "NEXT_KEY"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&wrong.get_output().stderr).into_owned();
    assert!(stderr.contains("wrong master key"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains(&current));
    palisade(&home)
        .env("PALISADE_MASTER_KEY", &next)
        .args(["keys", "rotate"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--new-key-env"));
    palisade(&home)
        .env("PALISADE_MASTER_KEY", "not a key")
        .env("NEXT_KEY", "8".repeat(64))
        .args(["keys", "rotate", "--new-key-env", "NEXT_KEY"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "master key PALISADE_MASTER_KEY: expected 64 hex characters",
        ));
}
