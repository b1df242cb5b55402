//! Statuses, favourites and timelines through the Mastodon-compatible API: the same posts,
//! rules and lists as Roost's own API, in Mastodon's shapes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{TestApp, assert_masto_error, json_ok};

/// Ids are digit strings that fit an `i64`.
fn assert_mastodon_id(id: &Value, what: &str) -> i64 {
    let text = id
        .as_str()
        .unwrap_or_else(|| panic!("{what}: id {id} is not a string"));
    assert!(text.bytes().all(|b| b.is_ascii_digit()), "{what}: {text}");
    text.parse()
        .unwrap_or_else(|_| panic!("{what}: {text} is not an i64"))
}

fn ids(statuses: &Value) -> Vec<String> {
    statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|status| status["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `rel` link of a `Link` header, as a path on the listener.
fn link(response: &reqwest::Response, rel: &str, app: &TestApp) -> String {
    let header = response.headers()["link"].to_str().unwrap().to_owned();
    let part = header
        .split(", ")
        .find(|part| part.ends_with(&format!("rel=\"{rel}\"")))
        .unwrap_or_else(|| panic!("no {rel} in {header}"));
    let url = part.trim_start_matches('<').split('>').next().unwrap();
    url.strip_prefix(&app.mastodon_address).unwrap().to_owned()
}

async fn a_status_is_posted_read_edited_and_deleted(app: TestApp) {
    let alice = app.user("alice").await;
    app.user("bob").await;
    let status = app
        .masto_post_form(
            "/api/v1/statuses",
            &[
                ("status", "Hello @bob, see #Rust <b>now</b>"),
                ("visibility", "public"),
            ],
            Some(&alice),
        )
        .await;
    let id = assert_mastodon_id(&status["id"], "new status");
    assert_eq!(status["visibility"], "public");
    assert_eq!(status["account"]["username"], "alice");
    assert_eq!(status["account"]["acct"], "alice");
    assert_eq!(status["favourited"], false);
    assert_eq!(status["mentions"][0]["username"], "bob");
    assert_eq!(status["tags"][0]["name"], "rust");
    let content = status["content"].as_str().unwrap();
    assert!(content.starts_with("<p>Hello "), "{content}");
    assert!(content.contains("class=\"u-url mention\""), "{content}");
    assert!(content.contains("class=\"mention hashtag\""), "{content}");
    assert!(content.contains("&lt;b&gt;now&lt;/b&gt;"), "{content}");
    assert!(
        status["created_at"].as_str().unwrap().ends_with('Z')
            && status["created_at"].as_str().unwrap().contains('.'),
        "milliseconds: {}",
        status["created_at"]
    );

    let path = format!("/api/v1/statuses/{id}");
    let read = app.masto_get(&path, None).await;
    assert_eq!(read["id"], status["id"]);
    assert!(
        read.get("favourited").is_none(),
        "anonymous: no caller flags"
    );

    let edited = app
        .masto(Method::PUT, &path, Some(&alice))
        .json(&json!({"status": "Edited"}))
        .send()
        .await
        .unwrap();
    let edited = json_ok(edited, "PUT status").await;
    assert_eq!(edited["content"], "<p>Edited</p>");
    assert!(edited["edited_at"].is_string());

    let bob = app.token("bob@example.com", crate::helpers::PASSWORD).await;
    let response = app
        .masto(Method::DELETE, &path, Some(&bob))
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 403, "someone else's status").await;
    let response = app
        .masto(Method::DELETE, &path, Some(&alice))
        .send()
        .await
        .unwrap();
    let deleted = json_ok(response, "DELETE status").await;
    assert_eq!(deleted["text"], "Edited");
    let response = app.masto(Method::GET, &path, None).send().await.unwrap();
    assert_masto_error(response, 404, "deleted status").await;
}

async fn bodies_may_be_form_json_or_multipart(app: TestApp) {
    let alice = app.user("alice").await;
    let by_json = app
        .masto_post_json(
            "/api/v1/statuses",
            &json!({"status": "by json"}),
            Some(&alice),
        )
        .await;
    assert_eq!(by_json["content"], "<p>by json</p>");
    let form = reqwest::multipart::Form::new().text("status", "by multipart");
    let response = app
        .masto(Method::POST, "/api/v1/statuses", Some(&alice))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_ok(response, "multipart").await["content"],
        "<p>by multipart</p>"
    );
    let response = app
        .masto(Method::POST, "/api/v1/statuses/", Some(&alice))
        .form(&[("status", "trailing slash")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_ok(response, "trailing slash").await["content"],
        "<p>trailing slash</p>"
    );
}

async fn bad_statuses_are_refused_with_mastodons_errors(app: TestApp) {
    let alice = app.user("alice").await;
    for (form, what) in [
        (vec![("status", "")], "empty"),
        (vec![("status", "x"), ("visibility", "direct")], "direct"),
        (
            vec![("status", "x"), ("visibility", "secret")],
            "unknown visibility",
        ),
        (
            vec![("status", "x"), ("media_ids[]", "123")],
            "unknown media",
        ),
        (vec![("status", "x"), ("scheduled_at", "soon")], "bad time"),
    ] {
        let response = app
            .masto(Method::POST, "/api/v1/statuses", Some(&alice))
            .form(&form)
            .send()
            .await
            .unwrap();
        let message = assert_masto_error(response, 422, what).await;
        assert!(
            message.starts_with("Validation failed"),
            "{what}: {message}"
        );
    }
    let response = app
        .masto(Method::POST, "/api/v1/statuses", None)
        .form(&[("status", "x")])
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 401, "no token").await;
    for path in [
        "/api/v1/statuses/abc",
        "/api/v1/statuses/99999999999999999999",
    ] {
        let response = app.masto(Method::GET, path, None).send().await.unwrap();
        assert_masto_error(response, 404, path).await;
    }
}

async fn followers_only_statuses_stay_with_followers(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    app.follow(&bob, "alice").await;
    let status = app
        .masto_post_form(
            "/api/v1/statuses",
            &[("status", "for followers"), ("visibility", "private")],
            Some(&alice),
        )
        .await;
    assert_eq!(status["visibility"], "private");
    let path = format!("/api/v1/statuses/{}", status["id"].as_str().unwrap());
    assert_eq!(app.masto_get(&path, Some(&bob)).await["id"], status["id"]);
    for token in [Some(carol.as_str()), None] {
        let response = app.masto(Method::GET, &path, token).send().await.unwrap();
        assert_masto_error(response, 404, "not a follower").await;
    }
    let public = app
        .masto_get("/api/v1/timelines/public", Some(&carol))
        .await;
    assert!(public.as_array().unwrap().is_empty(), "{public}");
    let home = app.masto_get("/api/v1/timelines/home", Some(&bob)).await;
    assert_eq!(ids(&home), vec![status["id"].as_str().unwrap()]);
}

async fn replies_are_comments_and_context_shows_them(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let post = app
        .masto_post_form("/api/v1/statuses", &[("status", "a post")], Some(&alice))
        .await;
    let post_id = post["id"].as_str().unwrap();
    let reply = app
        .masto_post_form(
            "/api/v1/statuses",
            &[("status", "a reply"), ("in_reply_to_id", post_id)],
            Some(&bob),
        )
        .await;
    assert_eq!(reply["in_reply_to_id"], post["id"]);
    assert_eq!(reply["in_reply_to_account_id"], post["account"]["id"]);
    // A reply to the reply joins the post.
    let second = app
        .masto_post_form(
            "/api/v1/statuses",
            &[
                ("status", "another"),
                ("in_reply_to_id", reply["id"].as_str().unwrap()),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(second["in_reply_to_id"], post["id"]);

    let context = app
        .masto_get(&format!("/api/v1/statuses/{post_id}/context"), None)
        .await;
    assert_eq!(context["ancestors"], json!([]));
    assert_eq!(
        ids(&context["descendants"]),
        vec![
            reply["id"].as_str().unwrap(),
            second["id"].as_str().unwrap()
        ]
    );
    let reply_path = format!("/api/v1/statuses/{}", reply["id"].as_str().unwrap());
    assert_eq!(
        app.masto_get(&reply_path, None).await["content"],
        "<p>a reply</p>"
    );
    let context = app.masto_get(&format!("{reply_path}/context"), None).await;
    assert_eq!(ids(&context["ancestors"]), vec![post_id]);
    let read = app
        .masto_get(&format!("/api/v1/statuses/{post_id}"), None)
        .await;
    assert_eq!(read["replies_count"], 2);
}

async fn favourites_are_likes(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let post = app
        .masto_post_form("/api/v1/statuses", &[("status", "like me")], Some(&alice))
        .await;
    let path = format!("/api/v1/statuses/{}", post["id"].as_str().unwrap());
    let liked = app
        .masto_post_form(&format!("{path}/favourite"), &[], Some(&bob))
        .await;
    assert_eq!(liked["favourited"], true);
    assert_eq!(liked["favourites_count"], 1);
    // Idempotent, as Roost's likes are.
    let again = app
        .masto_post_form(&format!("{path}/favourite"), &[], Some(&bob))
        .await;
    assert_eq!(again["favourites_count"], 1);
    let by = app.masto_get(&format!("{path}/favourited_by"), None).await;
    assert_eq!(by[0]["username"], "bob");
    let favourites = app.masto_get("/api/v1/favourites", Some(&bob)).await;
    assert_eq!(ids(&favourites), vec![post["id"].as_str().unwrap()]);
    // Roost's own API sees the same like.
    let roost_post = app.get_ok("/api/v1/me/likes", Some(&bob)).await;
    assert_eq!(roost_post["items"].as_array().unwrap().len(), 1);
    let unliked = app
        .masto_post_form(&format!("{path}/unfavourite"), &[], Some(&bob))
        .await;
    assert_eq!(unliked["favourited"], false);
    assert_eq!(unliked["favourites_count"], 0);
}

async fn the_home_timeline_pages_with_link_headers(app: TestApp) {
    let alice = app.user("alice").await;
    let mut posted = Vec::new();
    for n in 0..5 {
        let status = app
            .masto_post_form(
                "/api/v1/statuses",
                &[("status", &format!("post {n}"))],
                Some(&alice),
            )
            .await;
        posted.push(status["id"].as_str().unwrap().to_owned());
    }
    posted.reverse();
    let ordered: Vec<i64> = posted.iter().map(|id| id.parse().unwrap()).collect();
    assert!(
        ordered.windows(2).all(|pair| pair[0] > pair[1]),
        "ids sort by time"
    );

    let response = app
        .masto(Method::GET, "/api/v1/timelines/home?limit=2", Some(&alice))
        .send()
        .await
        .unwrap();
    let next = link(&response, "next", &app);
    let first = json_ok(response, "first page").await;
    assert_eq!(ids(&first), posted[..2]);
    let response = app
        .masto(Method::GET, &next, Some(&alice))
        .send()
        .await
        .unwrap();
    let prev = link(&response, "prev", &app);
    let second = json_ok(response, "second page").await;
    assert_eq!(ids(&second), posted[2..4]);
    // `prev` of the second page is the page just above it: the first.
    let above = app.masto_get(&prev, Some(&alice)).await;
    assert_eq!(ids(&above), posted[..2]);
    // since_id: the newest above; min_id: those just above.
    let since = app
        .masto_get(
            &format!("/api/v1/timelines/home?limit=2&since_id={}", posted[4]),
            Some(&alice),
        )
        .await;
    assert_eq!(ids(&since), posted[..2]);
    let min = app
        .masto_get(
            &format!("/api/v1/timelines/home?limit=2&min_id={}", posted[4]),
            Some(&alice),
        )
        .await;
    assert_eq!(ids(&min), posted[2..4]);
    // An empty page still links on.
    let response = app
        .masto(
            Method::GET,
            &format!("/api/v1/timelines/home?min_id={}", posted[0]),
            Some(&alice),
        )
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("link"));
    assert_eq!(json_ok(response, "empty page").await, json!([]));
}

async fn tag_and_public_timelines_follow_roosts_lists(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let tagged = app
        .masto_post_form(
            "/api/v1/statuses",
            &[("status", "#Birds at dawn")],
            Some(&alice),
        )
        .await;
    app.masto_post_form("/api/v1/statuses", &[("status", "untagged")], Some(&alice))
        .await;
    let by_tag = app.masto_get("/api/v1/timelines/tag/birds", None).await;
    assert_eq!(ids(&by_tag), vec![tagged["id"].as_str().unwrap()]);
    let public = app
        .masto_get("/api/v1/timelines/public?local=true", None)
        .await;
    assert_eq!(public.as_array().unwrap().len(), 2);
    let remote = app
        .masto_get("/api/v1/timelines/public?remote=true", None)
        .await;
    assert_eq!(remote, json!([]));
    // A mute leaves the public timeline, as it leaves Roost's lists.
    let response = app
        .request(Method::PUT, "/api/v1/me/mutes/alice", Some(&bob))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "mute: {}",
        response.status()
    );
    let public = app.masto_get("/api/v1/timelines/public", Some(&bob)).await;
    assert_eq!(public, json!([]));
    let response = app
        .masto(Method::GET, "/api/v1/timelines/home", None)
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 401, "home needs a token").await;
}

both_databases!(
    a_status_is_posted_read_edited_and_deleted,
    bodies_may_be_form_json_or_multipart,
    bad_statuses_are_refused_with_mastodons_errors,
    followers_only_statuses_stay_with_followers,
    replies_are_comments_and_context_shows_them,
    favourites_are_likes,
    the_home_timeline_pages_with_link_headers,
    tag_and_public_timelines_follow_roosts_lists,
);
