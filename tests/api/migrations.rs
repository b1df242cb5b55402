//! Upgrading a database in place: an existing database gains the privacy schema with every
//! account unlocked and every post public, so it shows what it showed before.

use reqwest::Method;
use roost::db::migrations::Migrator;
use sea_orm::Database;
use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::both_databases;
use crate::helpers::{TestApp, id_of, json_ok, post_path};

/// Takes the database of `app` back to the schema before privacy and safety, keeping its
/// rows, and serves it again with the current migrations applied.
async fn downgrade_and_restart(app: &mut TestApp) -> TestApp {
    app.stop().await;
    let db = Database::connect(&app.database_url).await.unwrap();
    // The OAuth migration, the notifications one, then the privacy one.
    Migrator::down(&db, Some(3))
        .await
        .expect("the privacy migration reverts");
    let columns = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM posts",
        ),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap();
    assert_eq!(columns, 2, "the posts survive the downgrade");
    db.close().await.ok();
    TestApp::start_on(&app.database_url, &app.media_dir, &[], None).await
}

async fn existing_posts_stay_public_and_accounts_unlocked(mut app: TestApp) {
    let alice = app.user("alice").await;
    let first = app.create_post(&alice, "Before the upgrade #old").await;
    let second = app.create_post(&alice, "Hello @alice").await;

    let upgraded = downgrade_and_restart(&mut app).await;
    for post in [&first, &second] {
        let read = json_ok(upgraded.get(&post_path(&id_of(post)), None).await, "post").await;
        assert_eq!(read["visibility"], "public", "{read}");
        assert_eq!(read["content"], post["content"]);
    }
    let tag = json_ok(
        upgraded.get("/api/v1/tags/old/posts", None).await,
        "tag list",
    )
    .await;
    assert_eq!(tag["items"].as_array().unwrap().len(), 1, "{tag}");
    let profile = json_ok(upgraded.get("/api/v1/users/alice", None).await, "profile").await;
    assert_eq!(profile["locked"], false, "{profile}");
    assert_eq!(profile["posts_count"], 2);

    // The new schema works on the upgraded database.
    let token = upgraded
        .token("alice@example.com", crate::helpers::PASSWORD)
        .await;
    let response = upgraded
        .request(Method::PATCH, "/api/v1/me", Some(&token))
        .json(&json!({"locked": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_ok(response, "lock").await["locked"], true);
    let hidden = upgraded.get(&post_path(&id_of(&first)), None).await;
    assert_eq!(
        hidden.status(),
        404,
        "a locked account's posts are for followers"
    );
}

both_databases!(existing_posts_stay_public_and_accounts_unlocked);
