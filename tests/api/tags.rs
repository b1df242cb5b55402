//! Hashtags: how they are found in content, recomputed on edit, counted (`/tags/{name}`)
//! and listed (`/posts?tag=`, `/tags/{name}/posts`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{
    POSTS, TestApp, assert_problem, contents, id_of, json_ok, newest_first_pages, post_path,
    strings,
};

const TAGS: &str = "/api/v1/tags";

/// The tags of a new post with `content`, checked to be the same on `GET /posts/{id}`.
async fn tags_of(app: &TestApp, token: &str, content: &str) -> Vec<String> {
    let post = app.create_post(token, content).await;
    let fetched = app.get_ok(&post_path(&id_of(&post)), None).await;
    assert_eq!(fetched["tags"], post["tags"], "{content}");
    serde_json::from_value(post["tags"].clone()).unwrap()
}

/// `GET /tags/{name}` (name given URL-ready), which must answer 200.
async fn tag(app: &TestApp, name: &str) -> Value {
    app.get_ok(&format!("{TAGS}/{name}"), None).await
}

async fn tag_count(app: &TestApp, name: &str) -> i64 {
    let tag = tag(app, name).await;
    tag["post_count"]
        .as_i64()
        .unwrap_or_else(|| panic!("post_count: {tag}"))
}

async fn patch_content(app: &TestApp, token: &str, id: &str, content: &str) -> Value {
    let response = app
        .request(Method::PATCH, &post_path(id), Some(token))
        .json(&json!({"content": content}))
        .send()
        .await
        .unwrap();
    json_ok(response, content).await
}

// ---------------------------------------------------------------------------------------
// Finding hashtags in content
// ---------------------------------------------------------------------------------------

async fn hashtags_are_lower_cased_and_deduplicated_in_order_of_first_appearance(app: TestApp) {
    let alice = app.user("alice").await;
    assert_eq!(
        tags_of(&app, &alice, "#Rust #rust #Tokio").await,
        ["rust", "tokio"]
    );
    assert_eq!(
        tags_of(&app, &alice, "#B #a #b #A #c").await,
        ["b", "a", "c"]
    );
    assert_eq!(
        tags_of(
            &app,
            &alice,
            "Learning #Axum with #SeaORM, then #axum again"
        )
        .await,
        ["axum", "seaorm"]
    );
    assert_eq!(
        tags_of(&app, &alice, "no tags at all").await,
        Vec::<String>::new()
    );
    // Lists carry the same tags.
    let page = app.get_ok(&format!("{POSTS}?limit=1"), None).await;
    assert_eq!(page["items"][0]["tags"], json!([]));
    let page = app.get_ok(&format!("{POSTS}?tag=tokio"), None).await;
    assert_eq!(page["items"][0]["tags"], json!(["rust", "tokio"]));
    assert_eq!(
        tag_count(&app, "rust").await,
        1,
        "a post counts once per tag"
    );
}

async fn hashtags_are_unicode_aware(app: TestApp) {
    let alice = app.user("alice").await;
    assert_eq!(
        tags_of(&app, &alice, "#café #日本語 #Ünïcode_42 #ÉTÉ").await,
        ["café", "日本語", "ünïcode_42", "été"]
    );
    assert_eq!(
        tags_of(&app, &alice, "#١٢٣ #tag_ #_").await,
        ["١٢٣", "tag_", "_"]
    );
    for (name, expected) in [
        ("café", "café"),
        ("CAFÉ", "café"),
        ("日本語", "日本語"),
        ("Été", "été"),
    ] {
        let body = tag(&app, name).await;
        assert_eq!(body, json!({"name": expected, "post_count": 1}), "{name}");
    }
    assert_eq!(
        app.search_contents(&[("tag", "日本語")]).await,
        ["#café #日本語 #Ünïcode_42 #ÉTÉ"]
    );
    assert_eq!(
        app.search_contents(&[("tag", "ÜNÏCODE_42")]).await,
        ["#café #日本語 #Ünïcode_42 #ÉTÉ"]
    );
}

async fn a_hash_after_a_word_character_does_not_start_a_tag(app: TestApp) {
    let alice = app.user("alice").await;
    let none = Vec::<String>::new();
    for (content, expected) in [
        ("a#b", none.clone()),
        ("email@x.com#y", none.clone()),
        ("issue_#12 and x#not", none.clone()),
        ("café#crème", none.clone()),
        ("(#tag)", strings(&["tag"])),
        ("[#one],{#two}.#three!", strings(&["one", "two", "three"])),
        ("x#not #yes", strings(&["yes"])),
        ("#start of text", strings(&["start"])),
        ("line\n#next", strings(&["next"])),
        ("##double", strings(&["double"])),
        ("# #! #-x", none.clone()),
        ("#rust-lang #c++ #end.", strings(&["rust", "c", "end"])),
        ("@#mention", strings(&["mention"])),
    ] {
        assert_eq!(tags_of(&app, &alice, content).await, expected, "{content}");
    }
    for name in ["b", "y", "not", "crème", "12"] {
        assert_eq!(tag_count(&app, name).await, 0, "{name}");
    }
    assert_eq!(tag_count(&app, "tag").await, 1);
}

async fn a_long_hashtag_is_stored_and_found(app: TestApp) {
    let alice = app.user("alice").await;
    // Content may be 500 characters, and nothing in the rules limits one hashtag.
    for length in [150, 199, 200, 201, 300, 499] {
        let content = format!("#{}", "t".repeat(length));
        let response = app
            .post_json(POSTS, &json!({"content": content}), Some(&alice))
            .await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "a {length}-character tag: {text}"
        );
        let post: Value = serde_json::from_str(&text).unwrap();
        // Whatever tag the server made of it can be looked up.
        for name in post["tags"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            assert_eq!(tag_count(&app, name).await, 1, "tag of {length} chars");
            let found = app.search_contents(&[("tag", name)]).await;
            assert_eq!(found, [content.as_str()]);
        }
    }
}

both_databases!(
    hashtags_are_lower_cased_and_deduplicated_in_order_of_first_appearance,
    hashtags_are_unicode_aware,
    a_hash_after_a_word_character_does_not_start_a_tag,
    a_long_hashtag_is_stored_and_found,
);

// ---------------------------------------------------------------------------------------
// Counting and editing
// ---------------------------------------------------------------------------------------

async fn a_tag_counts_the_posts_carrying_it(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    assert_eq!(
        tag(&app, "rust").await,
        json!({"name": "rust", "post_count": 0})
    );
    assert_eq!(
        tag(&app, "NeverUsed_42").await,
        json!({"name": "neverused_42", "post_count": 0})
    );
    app.create_post(&alice, "#rust").await;
    app.create_post(&bob, "#RUST and #Rust again").await;
    app.create_post(&alice, "#rustacean #rusty rust").await;
    let third = app.create_post(&bob, "more #Rust").await;
    for name in ["rust", "RUST", "Rust"] {
        assert_eq!(
            tag(&app, name).await,
            json!({"name": "rust", "post_count": 3})
        );
    }
    assert_eq!(tag_count(&app, "rustacean").await, 1);
    app.delete_post(&bob, &id_of(&third)).await;
    assert_eq!(tag_count(&app, "rust").await, 2);
}

async fn tags_are_recomputed_when_a_post_is_edited(app: TestApp) {
    let alice = app.user("alice").await;
    let post = app.create_post(&alice, "#old #keep first").await;
    app.create_post(&alice, "#keep another").await;
    let id = id_of(&post);
    assert_eq!(tag_count(&app, "old").await, 1);
    assert_eq!(tag_count(&app, "new").await, 0);
    assert_eq!(tag_count(&app, "keep").await, 2);

    let edited = patch_content(&app, &alice, &id, "#New then #keep, #NEW").await;
    assert_eq!(edited["tags"], json!(["new", "keep"]));
    assert_eq!(
        app.get_ok(&post_path(&id), None).await["tags"],
        json!(["new", "keep"])
    );
    assert_eq!(tag_count(&app, "old").await, 0, "the old tag's count drops");
    assert_eq!(tag_count(&app, "new").await, 1, "the new tag's count rises");
    assert_eq!(tag_count(&app, "keep").await, 2);
    assert!(app.search_contents(&[("tag", "old")]).await.is_empty());
    assert_eq!(
        app.search_contents(&[("tag", "new")]).await,
        ["#New then #keep, #NEW"]
    );

    // Reordering changes the order of first appearance; removing all tags empties them.
    let edited = patch_content(&app, &alice, &id, "#keep before #new").await;
    assert_eq!(edited["tags"], json!(["keep", "new"]));
    let edited = patch_content(&app, &alice, &id, "no tags now").await;
    assert_eq!(edited["tags"], json!([]));
    assert_eq!(tag_count(&app, "new").await, 0);
    assert_eq!(tag_count(&app, "keep").await, 1);
    assert_eq!(
        app.search_contents(&[("tag", "keep")]).await,
        ["#keep another"]
    );
}

both_databases!(
    a_tag_counts_the_posts_carrying_it,
    tags_are_recomputed_when_a_post_is_edited,
);

// ---------------------------------------------------------------------------------------
// Listing by tag
// ---------------------------------------------------------------------------------------

async fn posts_can_be_filtered_by_tag_in_any_case_with_or_without_hash(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.create_post(&alice, "first #Birds").await;
    app.create_post(&bob, "#birdsong is not it").await;
    app.create_post(&bob, "second #birds").await;
    app.create_post(&alice, "birds without a hash").await;
    app.create_post(&alice, "third #BIRDS #sky").await;
    let expected = ["third #BIRDS #sky", "second #birds", "first #Birds"];
    for name in ["birds", "BIRDS", "Birds", "#birds", "#BiRdS"] {
        assert_eq!(
            app.search_contents(&[("tag", name)]).await,
            expected,
            "{name}"
        );
    }
    // The same, written by hand with the `#` percent-encoded.
    let page = app.get_ok(&format!("{POSTS}?tag=%23Birds"), None).await;
    assert_eq!(contents(&page), expected);
    assert_eq!(page["items"][0]["liked"], Value::Null);
    let page = app.get_ok(&format!("{POSTS}?tag=birds"), Some(&bob)).await;
    assert_eq!(page["items"][0]["liked"], false);
    let page = json_ok(app.search_posts(&[("tag", "unused")], None).await, "unused").await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

async fn tag_posts_are_the_same_list_as_the_tag_filter(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut tagged = Vec::new();
    for n in 1..=5 {
        let content = format!("#Walk number {n}");
        app.create_post(if n % 2 == 0 { &alice } else { &bob }, &content)
            .await;
        app.create_post(&alice, &format!("untagged {n}")).await;
        tagged.push(content);
    }
    for token in [None, Some(alice.as_str())] {
        for name in ["walk", "WALK"] {
            let by_path = app.get_ok(&format!("{TAGS}/{name}/posts"), token).await;
            let by_filter = app.get_ok(&format!("{POSTS}?tag={name}"), token).await;
            assert_eq!(by_path, by_filter, "{name}");
            assert_eq!(contents(&by_path).len(), 5);
        }
    }
    let expected = newest_first_pages(&tagged, 2);
    assert_eq!(
        app.walk(&format!("{TAGS}/Walk/posts?limit=2"), None, 2, contents)
            .await,
        expected
    );
    assert_eq!(
        app.walk(&format!("{POSTS}?tag=Walk&limit=2"), None, 2, contents)
            .await,
        expected
    );
    let page = app.get_ok(&format!("{TAGS}/unused/posts"), None).await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

async fn invalid_tag_names_are_refused(app: TestApp) {
    let alice = app.user("alice").await;
    app.create_post(&alice, "#fine").await;
    for name in [
        "no spaces",
        "",
        "#",
        "##fine",
        "a-b",
        "fine!",
        "caf\u{0}e",
        "tag\n",
    ] {
        let response = app.search_posts(&[("tag", name)], None).await;
        assert_problem(response, 400, "invalid_query").await;
    }
    for path in [
        "bad%20name",
        "bad%20name/posts",
        "a-b",
        "a-b/posts",
        "%23",
        "fine!",
        "%00",
        "%00/posts",
    ] {
        let response = app.get(&format!("{TAGS}/{path}"), None).await;
        assert_problem(response, 404, "not_found").await;
    }
    assert_eq!(tag_count(&app, "fine").await, 1);
}

async fn tag_filters_combine_with_author_and_search(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.create_post(&alice, "river at dawn #photo").await;
    app.create_post(&bob, "river at dusk #photo").await;
    app.create_post(&alice, "mountain at dawn #photo").await;
    app.create_post(&alice, "river at noon #notes").await;
    assert_eq!(
        app.search_contents(&[("tag", "photo"), ("author", "alice")])
            .await,
        ["mountain at dawn #photo", "river at dawn #photo"]
    );
    assert_eq!(
        app.search_contents(&[("tag", "#Photo"), ("q", "river")])
            .await,
        ["river at dusk #photo", "river at dawn #photo"]
    );
    assert_eq!(
        app.search_contents(&[("tag", "photo"), ("q", "dawn"), ("author", "ALICE")])
            .await,
        ["mountain at dawn #photo", "river at dawn #photo"]
    );
    assert!(
        app.search_contents(&[("tag", "notes"), ("author", "bob")])
            .await
            .is_empty()
    );
    // The tag word is a word of the content too.
    assert_eq!(
        app.search_contents(&[("q", "notes river")]).await,
        ["river at noon #notes"]
    );
}

both_databases!(
    posts_can_be_filtered_by_tag_in_any_case_with_or_without_hash,
    tag_posts_are_the_same_list_as_the_tag_filter,
    invalid_tag_names_are_refused,
    tag_filters_combine_with_author_and_search,
);
