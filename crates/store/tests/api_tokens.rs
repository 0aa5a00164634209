//! API tokens in the store: created for enabled users only, found by hash,
//! listed per owner, revoked by their owner (or an admin), and revoked all
//! at once when their owner is disabled.

use chrono::{DateTime, Duration, TimeZone, Utc};
use palisade_store::{ApiScope, Error, NewApiToken, Role, Store};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0)
        .single()
        .expect("valid test time")
}

fn new_token(
    user_id: i64,
    hash: &str,
    scopes: Vec<ApiScope>,
    expires: DateTime<Utc>,
) -> NewApiToken {
    NewApiToken {
        user_id,
        name: format!("ci {hash}"),
        token_hash: hash.repeat(64 / hash.len()),
        prefix: "pal_abcd".into(),
        scopes,
        expires_at: expires,
    }
}

#[tokio::test]
async fn tokens_live_until_expiry_revocation_or_their_owner_is_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("p.db").to_str().unwrap())
        .await
        .unwrap();
    let alice = store
        .create_user("alice", Role::Analyst, Some("$h"), at(1))
        .await
        .unwrap();
    let bob = store
        .create_user("bob", Role::Viewer, Some("$h"), at(1))
        .await
        .unwrap();

    let a1 = store
        .create_api_token(
            &new_token(
                alice.id,
                "a1",
                vec![ApiScope::WriteFindings, ApiScope::Read, ApiScope::Read],
                at(1) + Duration::days(30),
            ),
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(a1.scopes, vec![ApiScope::Read, ApiScope::WriteFindings]);
    assert_eq!(a1.username, "alice");
    let a2 = store
        .create_api_token(
            &new_token(alice.id, "a2", vec![ApiScope::Read], at(2)),
            at(1),
        )
        .await
        .unwrap();
    let b1 = store
        .create_api_token(
            &new_token(bob.id, "b1", vec![ApiScope::Read], at(20)),
            at(1),
        )
        .await
        .unwrap();

    // Bad requests: no scope, expiry in the past or beyond a year, bad name.
    for bad in [
        new_token(alice.id, "x1", vec![], at(3)),
        new_token(alice.id, "x2", vec![ApiScope::Read], at(1)),
        new_token(
            alice.id,
            "x3",
            vec![ApiScope::Read],
            at(1) + Duration::days(367),
        ),
        NewApiToken {
            name: " ".into(),
            ..new_token(alice.id, "x4", vec![ApiScope::Read], at(3))
        },
    ] {
        let error = store.create_api_token(&bad, at(1)).await.unwrap_err();
        assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
    }

    let (found, owner) = store
        .api_token_with_user(&"a1".repeat(32))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, owner.id), (a1.id, alice.id));
    assert!(found.is_live(at(2)));
    assert!(store
        .api_token_with_user(&"zz".repeat(32))
        .await
        .unwrap()
        .is_none());
    // a2 expires on day 2.
    let a2_now = store.api_token(a2.id).await.unwrap().unwrap();
    assert!(a2_now.is_live(at(1)) && !a2_now.is_live(at(2)));

    store.touch_api_token(a1.id, at(3)).await.unwrap();
    assert_eq!(
        store.api_token(a1.id).await.unwrap().unwrap().last_used_at,
        Some(at(3))
    );

    let mine: Vec<i64> = store
        .list_api_tokens(Some(alice.id))
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(mine, vec![a2.id, a1.id]);
    assert_eq!(store.list_api_tokens(None).await.unwrap().len(), 3);

    // Bob cannot revoke Alice's token, and learns nothing about it.
    let denied = store
        .revoke_api_token(a1.id, Some(bob.id), at(3))
        .await
        .unwrap_err();
    assert!(matches!(denied, Error::TokenNotFound(_)), "{denied}");
    let revoked = store
        .revoke_api_token(b1.id, Some(bob.id), at(4))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(4)));
    assert!(!revoked.is_live(at(4)));
    // Again later: the first revocation time stays.
    let again = store.revoke_api_token(b1.id, None, at(5)).await.unwrap();
    assert_eq!(again.revoked_at, Some(at(4)));

    // Disabling Alice revokes every token of hers at once.
    store
        .set_user_disabled(alice.id, true, at(6))
        .await
        .unwrap();
    for token in store.list_api_tokens(Some(alice.id)).await.unwrap() {
        assert_eq!(token.revoked_at, Some(at(6)), "{}", token.name);
    }
    // Re-enabling does not bring them back, and a disabled user gets no new one.
    store
        .set_user_disabled(alice.id, false, at(7))
        .await
        .unwrap();
    assert!(!store
        .api_token(a1.id)
        .await
        .unwrap()
        .unwrap()
        .is_live(at(7)));
    store
        .set_user_disabled(alice.id, true, at(7))
        .await
        .unwrap();
    let refused = store
        .create_api_token(
            &new_token(alice.id, "a3", vec![ApiScope::Read], at(20)),
            at(7),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::InvalidInput { .. }), "{refused}");
}
