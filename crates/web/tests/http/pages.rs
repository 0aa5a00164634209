//! The pages: what each role can do to which objects, escaping, suppression
//! with its audit trail, the findings list's filters and pages.

use axum::http::StatusCode;
use chrono::Duration;
use palisade_store::{Role, Status};

use crate::common::TestApp;

#[tokio::test]
async fn suppression_needs_a_reason_and_an_expiry_and_is_audited() {
    let app = TestApp::new().await;
    let id = app.findings(&["Bucket is public"]).await[0];
    let analyst = app.signed_in("ann", Role::Analyst).await;
    let path = format!("/findings/{id}/suppress");
    let soon = (app.state.now().date_naive() + Duration::days(30)).to_string();
    let past = (app.state.now().date_naive() - Duration::days(1)).to_string();
    let far = (app.state.now().date_naive() + Duration::days(400)).to_string();
    for (fields, why) in [
        (vec![("reason", ""), ("expires", soon.as_str())], "Say why"),
        (vec![("reason", "ok")], "YYYY-MM-DD"),
        (
            vec![("reason", "ok"), ("expires", past.as_str())],
            "after today",
        ),
        (
            vec![("reason", "ok"), ("expires", far.as_str())],
            "within 366 days",
        ),
    ] {
        let reply = app.post(&path, Some(&analyst), &fields).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{fields:?}");
        assert!(reply.body.contains(why), "{fields:?}: {}", reply.body);
    }
    let reply = app
        .post(
            &path,
            Some(&analyst),
            &[("reason", "test bucket, no data"), ("expires", &soon)],
        )
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (
            StatusCode::SEE_OTHER,
            Some(format!("/findings/{id}").as_str())
        )
    );
    let stored = app.store.get_finding_id(id, app.state.now()).await.unwrap();
    assert_eq!(stored.status, Status::Suppressed);
    let suppression = stored.suppression.unwrap();
    assert_eq!(
        (suppression.author.as_str(), suppression.reason.as_str()),
        ("ann", "test bucket, no data")
    );

    let page = app.get(&format!("/findings/{id}"), Some(&analyst)).await;
    assert!(page.body.contains("Suppressed by ann"), "{}", page.body);
    assert!(
        page.body.contains("suppressed: test bucket, no data"),
        "history shows it"
    );

    let reply = app
        .post(&format!("/findings/{id}/unsuppress"), Some(&analyst), &[])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store
            .get_finding_id(id, app.state.now())
            .await
            .unwrap()
            .status,
        Status::Open
    );

    let audit = app
        .store
        .list_audit(&palisade_store::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let suppress = audit
        .iter()
        .find(|r| r.action == "finding.suppress")
        .expect("audited");
    assert_eq!(suppress.actor, "ann");
    assert_eq!(suppress.source_ip.as_deref(), Some("192.0.2.10"));
    assert!(suppress
        .detail
        .as_deref()
        .unwrap()
        .contains("test bucket, no data"));
    assert!(audit.iter().any(|r| r.action == "finding.unsuppress"));
}

#[tokio::test]
async fn roles_cannot_act_beyond_their_permission_on_any_object() {
    let app = TestApp::new().await;
    let id = app.findings(&["Bucket is public"]).await[0];
    let admin = app.signed_in("admin", Role::Admin).await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;
    let auditor = app.signed_in("auditor", Role::Auditor).await;
    let analyst = app.signed_in("analyst", Role::Analyst).await;
    let soon = (app.state.now().date_naive() + Duration::days(30)).to_string();
    let suppress = [("reason", "mine now"), ("expires", soon.as_str())];

    for browser in [&viewer, &auditor] {
        let reply = app
            .post(
                &format!("/findings/{id}/suppress"),
                Some(browser),
                &suppress,
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    assert!(app
        .store
        .get_finding_id(id, app.state.now())
        .await
        .unwrap()
        .suppression
        .is_none());
    // The detail page shows no suppression form to those who cannot use it.
    assert!(!app
        .get(&format!("/findings/{id}"), Some(&viewer))
        .await
        .body
        .contains("/suppress"));
    assert!(app
        .get(&format!("/findings/{id}"), Some(&analyst))
        .await
        .body
        .contains("/suppress"));

    let admin_user = app.store.user_by_name("admin").await.unwrap().unwrap();
    for browser in [&analyst, &auditor, &viewer] {
        for action in ["disable", "role"] {
            let reply = app
                .post(
                    &format!("/users/{}/{action}", admin_user.id),
                    Some(browser),
                    &[("role", "viewer")],
                )
                .await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{action}");
        }
        let reply = app
            .post(
                "/users",
                Some(browser),
                &[("username", "sneaky"), ("role", "admin")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    assert!(app.store.user_by_name("sneaky").await.unwrap().is_none());
    assert_eq!(
        app.store
            .user_by_id(admin_user.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Admin
    );

    // An admin cannot disable or demote themselves, nor the last admin.
    let own = app
        .post(
            &format!("/users/{}/disable", admin_user.id),
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    assert!(
        !app.store
            .user_by_id(admin_user.id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    // The auditor reads users and the audit log but gets no forms to change them.
    let users = app.get("/users", Some(&auditor)).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(!users.body.contains("/disable") && !users.body.contains("Add a user"));
    assert_eq!(
        app.get("/audit", Some(&auditor)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/audit", Some(&analyst)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_admin_creates_a_user_who_enrols_through_the_link_shown_once() {
    let app = TestApp::new().await;
    let admin = app.signed_in("admin", Role::Admin).await;
    let reply = app
        .post(
            "/users",
            Some(&admin),
            &[("username", "newbie"), ("role", "analyst")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let start = reply.body.find("/enrol?token=").expect("link shown");
    let link: String = reply.body[start..]
        .chars()
        .take_while(|c| *c != '<')
        .collect();
    assert!(
        !app.get("/users", Some(&admin))
            .await
            .body
            .contains("/enrol?token="),
        "shown once"
    );

    let form = app.get(&link, None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("newbie"));
    let pre = crate::common::Browser {
        cookie: format!(
            "{}={}",
            crate::common::PRE_COOKIE,
            form.cookie(crate::common::PRE_COOKIE).unwrap()
        ),
        csrf: form.csrf().unwrap(),
    };
    let token = link.trim_start_matches("/enrol?token=");
    let pass = "a passphrase of my own";
    let reply = app
        .post(
            "/enrol",
            Some(&pre),
            &[
                ("token", token),
                ("username", "newbie"),
                ("password", pass),
                ("confirm", pass),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let newbie = app.login("newbie", pass).await.expect("signs in");
    assert_eq!(
        app.get(&format!("/findings/{}", 1), Some(&newbie))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let actions = app.audit_actions().await;
    assert!(actions.contains(&("admin".into(), "user.create".into())));
    assert!(actions.contains(&("newbie".into(), "user.enrol".into())));
}

#[tokio::test]
async fn output_is_escaped_everywhere() {
    let app = TestApp::new().await;
    let id = app
        .findings(&["<script>alert(1)</script> in \"title\""])
        .await[0];
    let viewer = app.signed_in("viewer", Role::Viewer).await;
    for path in [
        "/findings".to_string(),
        format!("/findings/{id}"),
        "/findings?q=%3Cb%3Ex%3C%2Fb%3E".to_string(),
    ] {
        let page = app.get(&path, Some(&viewer)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.body.contains("<script>") && !page.body.contains("<b>x</b>"),
            "{path}"
        );
    }
    let page = app.get(&format!("/findings/{id}"), Some(&viewer)).await;
    assert!(
        page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_findings_list_filters_and_pages_through_everything() {
    let app = TestApp::new().await;
    let titles: Vec<String> = (0..120).map(|i| format!("Finding number {i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    app.findings(&refs).await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;

    let mut link = "/findings?sort=last_seen".to_string();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5 {
        let page = app.get(&link, Some(&viewer)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("(120)"));
        for title in &titles {
            if page.body.contains(&format!(">{title}<")) {
                seen.insert(title.clone());
            }
        }
        match page.body.find("rel=\"next\"") {
            Some(_) => {
                let start = page.body.find("<a href=\"/findings?").unwrap();
                let href: String = page.body[start + 9..]
                    .chars()
                    .take_while(|c| *c != '"')
                    .collect();
                assert!(href.contains("sort=last_seen"), "filters are kept: {href}");
                link = href.replace("&amp;", "&").replace("&#38;", "&");
                if !link.contains("after=") {
                    // The first link on a later page is "First page"; take the next one.
                    let next = page.body.rfind("<a href=\"/findings?").unwrap();
                    link = page.body[next + 9..]
                        .chars()
                        .take_while(|c| *c != '"')
                        .collect::<String>()
                        .replace("&amp;", "&")
                        .replace("&#38;", "&");
                }
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 120, "three pages of 50 cover all");

    let filtered = app
        .get("/findings?q=b119&severity=high", Some(&viewer))
        .await;
    assert!(filtered.body.contains("(1)"), "resource b119 only");
    let none = app.get("/findings?severity=critical", Some(&viewer)).await;
    assert!(none.body.contains("(0)") && none.body.contains("No findings match"));
    let bad = app.get("/findings?severity=urgent", Some(&viewer)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad_cursor = app.get("/findings?after=garbage", Some(&viewer)).await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_dashboard_counts_and_draws_without_script() {
    let app = TestApp::new().await;
    app.findings(&["One", "Two", "Three"]).await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;
    let page = app.get("/", Some(&viewer)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<span class=\"num\">3</span> open findings"),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("<svg").count(), 3);
    assert!(!page.body.contains("<script"));
    for path in ["/runs", "/assets", "/account"] {
        let reply = app.get(path, Some(&viewer)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
    assert!(app.get("/runs", Some(&viewer)).await.body.contains("/repo"));
}
