//! Accounts and relationships on the Mastodon-compatible API: the signed-in account and
//! its edits, profiles by id, lookup and search, an account's statuses, followers and
//! following with Mastodon's paging, relationships, follows (open and locked), follow
//! requests, blocks and mutes.

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::both_databases;
use crate::helpers::{TestApp, assert_masto_error, file_part, json_ok, media_id};

/// A Mastodon id: digits that fit a signed 64-bit integer.
fn assert_digits(id: &Value, what: &str) -> i64 {
    let text = id
        .as_str()
        .unwrap_or_else(|| panic!("{what}: id is a string: {id}"));
    assert!(
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
        "{what}: id is digits: {text}"
    );
    text.parse::<i64>().expect("fits an i64")
}

/// The id of `username`, through `lookup`.
async fn id_of(app: &TestApp, token: &str, username: &str) -> String {
    let account = app
        .masto_get(
            &format!("/api/v1/accounts/lookup?acct={username}"),
            Some(token),
        )
        .await;
    account["id"].as_str().unwrap().to_owned()
}

/// `POST /api/v1/accounts/:id/<action>`, asserting 200; returns the Relationship.
async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> Value {
    let relationship = app
        .masto_post_form(&format!("/api/v1/accounts/{id}/{action}"), &[], Some(token))
        .await;
    assert_eq!(relationship["id"], id, "{action}: {relationship}");
    relationship
}

fn usernames(accounts: &Value) -> Vec<String> {
    accounts
        .as_array()
        .unwrap_or_else(|| panic!("an array: {accounts}"))
        .iter()
        .map(|account| account["username"].as_str().unwrap().to_owned())
        .collect()
}

/// A `GET` that must answer 200: the JSON and the `next` and `prev` links as paths on this
/// API (an empty page has no `next`: `""`).
async fn get_page(app: &TestApp, path: &str, token: Option<&str>) -> (Value, String, String) {
    let response = app.masto(Method::GET, path, token).send().await.unwrap();
    let link = response
        .headers()
        .get("link")
        .unwrap_or_else(|| panic!("{path}: a Link header"))
        .to_str()
        .unwrap()
        .to_owned();
    let body = json_ok(response, path).await;
    let rel = |name: &str| {
        let Some(part) = link
            .split(", ")
            .find(|part| part.ends_with(&format!("rel=\"{name}\"")))
        else {
            return String::new();
        };
        let url = part.split(';').next().unwrap().trim();
        let url = &url[1..url.len() - 1];
        url.strip_prefix(&app.mastodon_address)
            .unwrap_or_else(|| panic!("{url} on this API"))
            .to_owned()
    };
    let (next, prev) = (rel("next"), rel("prev"));
    assert!(!prev.is_empty(), "{path}: rel=prev in {link}");
    let is_empty = body.as_array().is_some_and(Vec::is_empty);
    assert_eq!(next.is_empty(), is_empty, "{path}: rel=next in {link}");
    (body, next, prev)
}

async fn the_signed_in_account_is_shown_with_its_source(app: TestApp) {
    let alice = app.user("alice").await;
    let account = app
        .masto_get("/api/v1/accounts/verify_credentials", Some(&alice))
        .await;
    assert_digits(&account["id"], "verify_credentials");
    assert_eq!(account["username"], "alice");
    assert_eq!(account["acct"], "alice");
    assert_eq!(
        account["avatar"],
        app.masto_url("/avatars/original/missing.png")
    );
    assert_eq!(
        account["header"],
        app.masto_url("/headers/original/missing.png")
    );
    assert_eq!(account["emojis"], serde_json::json!([]));
    assert_eq!(account["fields"], serde_json::json!([]));
    assert_eq!(account["locked"], false);
    assert_eq!(account["source"]["note"], "");
    assert_eq!(account["url"], app.masto_url("/@alice"));

    let response = app
        .masto(Method::GET, "/api/v1/accounts/verify_credentials", None)
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 401, "verify_credentials without a token").await;
}

async fn credentials_are_updated_from_a_form(app: TestApp) {
    let alice = app.user("alice").await;
    let response = app
        .masto(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
        )
        .form(&[
            ("display_name", "Alice Liddell"),
            ("note", "Curiouser\nand curiouser"),
            ("locked", "1"),
            ("bot", "true"),
            ("fields_attributes[0][name]", "ignored"),
            ("source[privacy]", "private"),
        ])
        .send()
        .await
        .unwrap();
    let account = json_ok(response, "update_credentials").await;
    assert_eq!(account["display_name"], "Alice Liddell");
    assert_eq!(account["locked"], true);
    assert_eq!(account["source"]["note"], "Curiouser\nand curiouser");
    let note = account["note"].as_str().unwrap();
    assert!(note.contains("Curiouser") && note.contains("<br"), "{note}");

    let again = app
        .masto_get("/api/v1/accounts/verify_credentials", Some(&alice))
        .await;
    assert_eq!(again["display_name"], "Alice Liddell");
    assert_eq!(again["source"]["note"], "Curiouser\nand curiouser");
    assert_eq!(again["locked"], true);

    // Roost's rules hold: a display name is at most 50 characters.
    let response = app
        .masto(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
        )
        .form(&[("display_name", "x".repeat(51).as_str())])
        .send()
        .await
        .unwrap();
    let message = assert_masto_error(response, 422, "a long display name").await;
    assert!(message.starts_with("Validation failed"), "{message}");
    // JSON bodies work as well.
    let response = app
        .masto(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
        )
        .json(&serde_json::json!({"locked": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_ok(response, "JSON").await["locked"], false);
}

async fn an_avatar_is_uploaded_with_multipart_credentials(app: TestApp) {
    let alice = app.user("alice").await;
    let form = Form::new()
        .text("display_name", "Alice")
        .part(
            "avatar",
            file_part(crate::images::png(64, 48), "me.png", "image/png"),
        )
        .part(
            "header",
            file_part(crate::images::png(150, 50), "header.png", "image/png"),
        );
    let response = app
        .masto(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    let account = json_ok(response, "multipart update_credentials").await;
    assert_eq!(account["display_name"], "Alice");
    let avatar = account["avatar"].as_str().unwrap();
    assert!(!avatar.ends_with("/missing.png"), "{avatar}");
    assert_eq!(account["avatar_static"], avatar);
    let image = app.fetch(avatar).await;
    assert_eq!(image.status(), 200, "{avatar} is served");
    let decoded = image::load_from_memory(&image.bytes().await.unwrap()).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (400, 400));
    // The header is accepted and ignored.
    assert_eq!(
        account["header"],
        app.masto_url("/headers/original/missing.png")
    );

    // What is not an image is refused, and the avatar stays.
    let form = Form::new().part(
        "avatar",
        Part::bytes(b"not an image".to_vec())
            .file_name("x.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let response = app
        .masto(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(status == 415 || status == 422, "not an image: {status}");
    let again = app
        .masto_get("/api/v1/accounts/verify_credentials", Some(&alice))
        .await;
    assert_eq!(again["avatar"], avatar);
}

/// Small enough limits to pass with small images.
const SMALL_LIMITS: &[(&str, &str)] = &[
    ("ROOST_MAX_IMAGE_BYTES", "20000"),
    ("ROOST_JSON_BODY_LIMIT", "4096"),
];

async fn an_avatar_over_the_image_limit_is_refused_413(app: TestApp) {
    let alice = app.user("alice").await;
    // Over the image limit (an avatar alone), and over the whole body's (two images and
    // framing): both 413, and nothing changes.
    for side in [100, 300] {
        let form = Form::new().text("display_name", "Big").part(
            "avatar",
            file_part(crate::images::noisy_png(side), "big.png", "image/png"),
        );
        let response = app
            .masto(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Some(&alice),
            )
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_masto_error(response, 413, &format!("a {side}px noisy avatar")).await;
    }
    // A body of text fields keeps the JSON limit.
    let note = "x".repeat(5000);
    let response = app
        .masto(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice),
        )
        .form(&[("note", note.as_str())])
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 413, "a form over the body limit").await;
    let account = app
        .masto_get("/api/v1/accounts/verify_credentials", Some(&alice))
        .await;
    assert_eq!(account["display_name"], "");
    assert!(
        account["avatar"]
            .as_str()
            .unwrap()
            .ends_with("/missing.png")
    );
}

async fn accounts_are_found_by_id_and_lookup(app: TestApp) {
    let alice = app.user("alice").await;
    let _bob = app.user("bob").await;
    let bob_id = id_of(&app, &alice, "bob").await;
    assert_digits(&Value::String(bob_id.clone()), "lookup");

    // Anyone may read a profile.
    let bob = app
        .masto_get(&format!("/api/v1/accounts/{bob_id}"), None)
        .await;
    assert_eq!(bob["username"], "bob");
    assert_eq!(bob["acct"], "bob");
    assert_eq!(bob["id"], bob_id);
    assert_eq!(bob["followers_count"], 0);
    assert_eq!(bob["statuses_count"], 0);
    assert_eq!(bob["emojis"], serde_json::json!([]));
    assert!(bob.get("source").is_none(), "source is for the owner only");

    // `@name`, and `name@host` when the host is this server's.
    let host = app
        .mastodon_address
        .trim_start_matches("http://")
        .to_owned();
    for acct in ["@bob", &format!("bob@{host}"), "BOB"] {
        let found = app
            .masto_get(&format!("/api/v1/accounts/lookup?acct={acct}"), None)
            .await;
        assert_eq!(found["id"], bob_id, "{acct}");
    }
    for (path, what) in [
        (
            "/api/v1/accounts/lookup?acct=bob@elsewhere.example".to_owned(),
            "another server",
        ),
        (
            "/api/v1/accounts/lookup?acct=nobody".to_owned(),
            "an unknown name",
        ),
        ("/api/v1/accounts/lookup".to_owned(), "no acct"),
        ("/api/v1/accounts/12345".to_owned(), "an unknown id"),
        ("/api/v1/accounts/bob".to_owned(), "a non-numeric id"),
        (
            "/api/v1/accounts/99999999999999999999".to_owned(),
            "an id over 64 bits",
        ),
        ("/api/v1/accounts/12345/statuses".to_owned(), "statuses"),
        ("/api/v1/accounts/12345/followers".to_owned(), "followers"),
    ] {
        let response = app
            .masto(Method::GET, &path, Some(&alice))
            .send()
            .await
            .unwrap();
        let message = assert_masto_error(response, 404, what).await;
        assert_eq!(message, "Record not found", "{what}");
    }
    let response = app
        .masto(Method::POST, "/api/v1/accounts/12345/follow", Some(&alice))
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 404, "following an unknown id").await;
}

async fn accounts_are_searched(app: TestApp) {
    let alice = app.user("alice").await;
    for name in ["bob", "bobby", "bobcat"] {
        app.user(name).await;
    }
    let found = app
        .masto_get("/api/v1/accounts/search?q=bob", Some(&alice))
        .await;
    assert_eq!(usernames(&found), ["bob", "bobby", "bobcat"]);
    let found = app
        .masto_get(
            "/api/v1/accounts/search?q=bob&limit=1&offset=1",
            Some(&alice),
        )
        .await;
    assert_eq!(usernames(&found), ["bobby"]);
    let found = app
        .masto_get(
            "/api/v1/accounts/search?q=@bobcat&resolve=true",
            Some(&alice),
        )
        .await;
    assert_eq!(usernames(&found), ["bobcat"]);
    let found = app
        .masto_get("/api/v1/accounts/search?q=", Some(&alice))
        .await;
    assert_eq!(found, serde_json::json!([]));

    // `following=true`: only the accounts the caller follows.
    let found = app
        .masto_get("/api/v1/accounts/search?q=bob&following=true", Some(&alice))
        .await;
    assert_eq!(found, serde_json::json!([]));
    app.follow(&alice, "bobby").await;
    let found = app
        .masto_get("/api/v1/accounts/search?q=bob&following=true", Some(&alice))
        .await;
    assert_eq!(usernames(&found), ["bobby"]);
}

async fn following_an_open_account_holds_at_once(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bob_id = id_of(&app, &alice, "bob").await;
    let alice_id = id_of(&app, &alice, "alice").await;

    let relationship = app
        .masto_post_form(
            &format!("/api/v1/accounts/{bob_id}/follow"),
            &[
                ("reblogs", "true"),
                ("notify", "false"),
                ("languages[]", "en"),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(relationship["following"], true);
    assert_eq!(relationship["requested"], false);
    assert_eq!(relationship["followed_by"], false);
    let bob_account = app
        .masto_get(&format!("/api/v1/accounts/{bob_id}"), None)
        .await;
    assert_eq!(bob_account["followers_count"], 1);
    // Bob sees Alice follow him.
    let from_bob = app
        .masto_get(
            &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
            Some(&bob),
        )
        .await;
    assert_eq!(from_bob[0]["followed_by"], true);

    let relationship = act(&app, &alice, &bob_id, "unfollow").await;
    assert_eq!(relationship["following"], false);

    // Following yourself is refused.
    let response = app
        .masto(
            Method::POST,
            &format!("/api/v1/accounts/{alice_id}/follow"),
            Some(&alice),
        )
        .send()
        .await
        .unwrap();
    let message = assert_masto_error(response, 422, "following yourself").await;
    assert!(message.starts_with("Validation failed"), "{message}");

    // A follower can be removed.
    act(&app, &alice, &bob_id, "follow").await;
    let relationship = act(&app, &bob, &alice_id, "remove_from_followers").await;
    assert_eq!(relationship["followed_by"], false);
    let relationship = app
        .masto_get(
            &format!("/api/v1/accounts/relationships?id={bob_id}"),
            Some(&alice),
        )
        .await;
    assert_eq!(relationship[0]["following"], false);
}

async fn a_locked_account_is_requested_then_authorized_or_rejected(app: TestApp) {
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    app.masto(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(&carol),
    )
    .form(&[("locked", "true")])
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let carol_id = id_of(&app, &alice, "carol").await;
    let alice_id = id_of(&app, &alice, "alice").await;
    let dave_id = id_of(&app, &alice, "dave").await;

    let relationship = act(&app, &alice, &carol_id, "follow").await;
    assert_eq!(relationship["requested"], true);
    assert_eq!(relationship["following"], false);
    act(&app, &dave, &carol_id, "follow").await;

    let (requests, _, _) = get_page(&app, "/api/v1/follow_requests", Some(&carol)).await;
    assert_eq!(usernames(&requests), ["dave", "alice"], "newest first");
    let seen_by_carol = app
        .masto_get(
            &format!("/api/v1/accounts/relationships?id[]={alice_id}&id[]={dave_id}"),
            Some(&carol),
        )
        .await;
    assert_eq!(seen_by_carol[0]["requested_by"], true);
    assert_eq!(seen_by_carol[1]["requested_by"], true);

    // Authorized: Alice follows Carol.
    let relationship = app
        .masto_post_form(
            &format!("/api/v1/follow_requests/{alice_id}/authorize"),
            &[],
            Some(&carol),
        )
        .await;
    assert_eq!(relationship["id"], alice_id);
    assert_eq!(relationship["followed_by"], true);
    assert_eq!(relationship["requested_by"], false);
    let from_alice = app
        .masto_get(
            &format!("/api/v1/accounts/relationships?id[]={carol_id}"),
            Some(&alice),
        )
        .await;
    assert_eq!(from_alice[0]["following"], true);
    assert_eq!(from_alice[0]["requested"], false);

    // Rejected: Dave does not.
    let relationship = app
        .masto_post_form(
            &format!("/api/v1/follow_requests/{dave_id}/reject"),
            &[],
            Some(&carol),
        )
        .await;
    assert_eq!(relationship["followed_by"], false);
    assert_eq!(relationship["requested_by"], false);
    let from_dave = app
        .masto_get(
            &format!("/api/v1/accounts/relationships?id[]={carol_id}"),
            Some(&dave),
        )
        .await;
    assert_eq!(from_dave[0]["following"], false);
    assert_eq!(from_dave[0]["requested"], false);
    let (requests, _, _) = get_page(&app, "/api/v1/follow_requests", Some(&carol)).await;
    assert_eq!(requests, serde_json::json!([]));
    // No request is left to answer.
    let response = app
        .masto(
            Method::POST,
            &format!("/api/v1/follow_requests/{dave_id}/authorize"),
            Some(&carol),
        )
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 404, "authorizing no request").await;

    // A locked account's statuses are for its followers.
    app.create_post(&carol, "for my followers").await;
    let statuses = app
        .masto_get(
            &format!("/api/v1/accounts/{carol_id}/statuses"),
            Some(&alice),
        )
        .await;
    assert_eq!(statuses.as_array().unwrap().len(), 1);
    assert_eq!(statuses[0]["visibility"], "private");
    let response = app
        .masto(
            Method::GET,
            &format!("/api/v1/accounts/{carol_id}/statuses"),
            Some(&dave),
        )
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 403, "a locked account's statuses").await;
}

async fn a_block_hides_and_undoes_follows(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bob_id = id_of(&app, &alice, "bob").await;
    let alice_id = id_of(&app, &alice, "alice").await;
    app.follow(&bob, "alice").await;
    app.create_post(&alice, "hello").await;

    let relationship = act(&app, &alice, &bob_id, "block").await;
    assert_eq!(relationship["blocking"], true);
    assert_eq!(
        relationship["followed_by"], false,
        "the block ends the follow"
    );
    let (blocks, _, _) = get_page(&app, "/api/v1/blocks", Some(&alice)).await;
    assert_eq!(usernames(&blocks), ["bob"]);
    let from_bob = app
        .masto_get(
            &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
            Some(&bob),
        )
        .await;
    assert_eq!(from_bob[0]["blocked_by"], true);
    // Bob can neither follow Alice nor read her statuses or follows.
    for (method, path) in [
        (Method::POST, format!("/api/v1/accounts/{alice_id}/follow")),
        (Method::GET, format!("/api/v1/accounts/{alice_id}/statuses")),
        (
            Method::GET,
            format!("/api/v1/accounts/{alice_id}/followers"),
        ),
    ] {
        let response = app.masto(method, &path, Some(&bob)).send().await.unwrap();
        assert_masto_error(response, 403, &path).await;
    }
    // Nor find her.
    let found = app
        .masto_get("/api/v1/accounts/search?q=alice", Some(&bob))
        .await;
    assert_eq!(found, serde_json::json!([]));

    let relationship = act(&app, &alice, &bob_id, "unblock").await;
    assert_eq!(relationship["blocking"], false);
    let (blocks, _, _) = get_page(&app, "/api/v1/blocks", Some(&alice)).await;
    assert_eq!(blocks, serde_json::json!([]));
    let statuses = app
        .masto_get(&format!("/api/v1/accounts/{alice_id}/statuses"), Some(&bob))
        .await;
    assert_eq!(statuses.as_array().unwrap().len(), 1);
}

async fn a_mute_is_listed_and_undone(app: TestApp) {
    let alice = app.user("alice").await;
    let _carol = app.user("carol").await;
    let carol_id = id_of(&app, &alice, "carol").await;

    let relationship = app
        .masto_post_form(
            &format!("/api/v1/accounts/{carol_id}/mute"),
            &[("notifications", "false"), ("duration", "0")],
            Some(&alice),
        )
        .await;
    assert_eq!(relationship["muting"], true);
    assert_eq!(relationship["muting_notifications"], true);
    let (mutes, _, _) = get_page(&app, "/api/v1/mutes", Some(&alice)).await;
    assert_eq!(usernames(&mutes), ["carol"]);

    // Mutes do not expire here: a duration is refused.
    let response = app
        .masto(
            Method::POST,
            &format!("/api/v1/accounts/{carol_id}/mute"),
            Some(&alice),
        )
        .json(&serde_json::json!({"duration": 3600}))
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 422, "a timed mute").await;

    let relationship = act(&app, &alice, &carol_id, "unmute").await;
    assert_eq!(relationship["muting"], false);
    let (mutes, _, _) = get_page(&app, "/api/v1/mutes", Some(&alice)).await;
    assert_eq!(mutes, serde_json::json!([]));
}

async fn relationships_of_several_accounts_come_in_one_answer(app: TestApp) {
    let alice = app.user("alice").await;
    for name in ["bob", "carol", "dave"] {
        app.user(name).await;
    }
    let bob = id_of(&app, &alice, "bob").await;
    let carol = id_of(&app, &alice, "carol").await;
    let dave = id_of(&app, &alice, "dave").await;
    act(&app, &alice, &bob, "follow").await;
    act(&app, &alice, &carol, "block").await;
    act(&app, &alice, &dave, "mute").await;

    let path = format!(
        "/api/v1/accounts/relationships?id[]={dave}&id[]={bob}&id[]=12345&id[]=nope&id[]={carol}&id[]={bob}"
    );
    let all = app.masto_get(&path, Some(&alice)).await;
    let all = all.as_array().unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [dave.as_str(), bob.as_str(), carol.as_str()]);
    assert_eq!(all[0]["muting"], true);
    assert_eq!(all[0]["following"], false);
    assert_eq!(all[1]["following"], true);
    assert_eq!(all[1]["showing_reblogs"], true);
    assert_eq!(all[2]["blocking"], true);
    for relationship in all {
        for field in [
            "followed_by",
            "blocked_by",
            "requested",
            "requested_by",
            "domain_blocking",
            "endorsed",
            "notifying",
        ] {
            assert_eq!(relationship[field], false, "{field}: {relationship}");
        }
        assert_eq!(relationship["note"], "");
    }
    let response = app.masto(Method::GET, &path, None).send().await.unwrap();
    assert_masto_error(response, 401, "relationships need a token").await;
}

async fn an_accounts_statuses_page_and_filter(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bob_id = id_of(&app, &alice, "bob").await;
    for content in ["one", "two #rust", "three"] {
        app.create_post(&bob, content).await;
    }
    let media = app.upload_image(&bob).await;
    app.create_post_with_media(&bob, &[media_id(&media)]).await;

    let path = format!("/api/v1/accounts/{bob_id}/statuses");
    let (all, _, _) = get_page(&app, &path, None).await;
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 4);
    let numbers: Vec<i64> = all
        .iter()
        .map(|status| assert_digits(&status["id"], "status"))
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(all.iter().all(|status| status["account"]["id"] == bob_id));
    assert!(all[3]["content"].as_str().unwrap().contains("one"));
    assert!(all[0].get("favourited").is_none(), "anonymous: no flags");

    // Pages: `max_id` from the `next` link, `min_id` from `prev`.
    let (first, next, _) = get_page(&app, &format!("{path}?limit=2"), Some(&alice)).await;
    let ids = |page: &Value| -> Vec<Value> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|status| status["id"].clone())
            .collect()
    };
    let all_ids = ids(&Value::Array(all.clone()));
    assert_eq!(ids(&first), all_ids[..2]);
    assert_eq!(first[0]["favourited"], false, "signed in: flags");
    let (second, _, prev) = get_page(&app, &next, Some(&alice)).await;
    assert_eq!(ids(&second), all_ids[2..]);
    let (above, _, _) = get_page(&app, &prev, Some(&alice)).await;
    assert_eq!(ids(&above), all_ids[..2]);

    let only_media = app
        .masto_get(&format!("{path}?only_media=true"), Some(&alice))
        .await;
    assert_eq!(only_media.as_array().unwrap().len(), 1);
    assert_eq!(
        only_media[0]["media_attachments"].as_array().unwrap().len(),
        1
    );
    let tagged = app
        .masto_get(&format!("{path}?tagged=Rust"), Some(&alice))
        .await;
    assert_eq!(tagged.as_array().unwrap().len(), 1);
    assert!(tagged[0]["content"].as_str().unwrap().contains("two"));
    let pinned = app
        .masto_get(&format!("{path}?pinned=true"), Some(&alice))
        .await;
    assert_eq!(pinned, serde_json::json!([]));
    let replies = app
        .masto_get(
            &format!("{path}?exclude_replies=true&exclude_reblogs=1"),
            Some(&alice),
        )
        .await;
    assert_eq!(replies.as_array().unwrap().len(), 4);
    let response = app
        .masto(Method::GET, &format!("{path}?max_id=abc"), None)
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 400, "a max_id that is no id").await;
}

async fn followers_and_following_page_by_the_follow(app: TestApp) {
    let bob = app.user("bob").await;
    let names = ["fan1", "fan2", "fan3", "fan4", "fan5"];
    for name in names {
        let token = app.user(name).await;
        app.follow(&token, "bob").await;
    }
    let bob_id = id_of(&app, &bob, "bob").await;
    let path = format!("/api/v1/accounts/{bob_id}/followers");

    let (first, next, _) = get_page(&app, &format!("{path}?limit=2"), None).await;
    assert_eq!(
        usernames(&first),
        ["fan5", "fan4"],
        "most recent follow first"
    );
    let (second, next, prev) = get_page(&app, &next, None).await;
    assert_eq!(usernames(&second), ["fan3", "fan2"]);
    let (third, next, _) = get_page(&app, &next, None).await;
    assert_eq!(usernames(&third), ["fan1"]);
    let (empty, next, _) = get_page(&app, &next, None).await;
    assert_eq!(empty, serde_json::json!([]));
    assert!(next.is_empty(), "the end of the list has no next page");
    // `min_id` (the `prev` link): the page just above the second one.
    let (above, _, _) = get_page(&app, &prev, None).await;
    assert_eq!(usernames(&above), ["fan5", "fan4"]);
    // The default page holds all five.
    let (all, _, _) = get_page(&app, &path, Some(&bob)).await;
    assert_eq!(usernames(&all), ["fan5", "fan4", "fan3", "fan2", "fan1"]);

    let fan1 = id_of(&app, &bob, "fan1").await;
    let (following, _, _) =
        get_page(&app, &format!("/api/v1/accounts/{fan1}/following"), None).await;
    assert_eq!(usernames(&following), ["bob"]);
    assert_eq!(following[0]["followers_count"], 5);
}

both_databases!(
    the_signed_in_account_is_shown_with_its_source,
    credentials_are_updated_from_a_form,
    an_avatar_is_uploaded_with_multipart_credentials,
    accounts_are_found_by_id_and_lookup,
    accounts_are_searched,
    following_an_open_account_holds_at_once,
    a_locked_account_is_requested_then_authorized_or_rejected,
    a_block_hides_and_undoes_follows,
    a_mute_is_listed_and_undone,
    relationships_of_several_accounts_come_in_one_answer,
    an_accounts_statuses_page_and_filter,
    followers_and_following_page_by_the_follow,
);

crate::both_databases_with!(SMALL_LIMITS; an_avatar_over_the_image_limit_is_refused_413);
