//! Profiles (`/me`, `/users/{username}`), user search and listing, keyset pagination and
//! account deletion.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::both_databases;
use crate::helpers::{
    PASSWORD, TestApp, UNKNOWN_TOKEN, assert_problem, error_fields, json_ok, strings, usernames,
};

const ME: &str = "/api/v1/me";
const USERS: &str = "/api/v1/users";
/// The four free-text profile fields.
const TEXT_FIELDS: [&str; 4] = ["display_name", "bio", "location", "website"];

// ---------------------------------------------------------------------------------------
// Small helpers for this file
// ---------------------------------------------------------------------------------------

async fn patch_me(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    app.request(Method::PATCH, ME, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn patch_ok(app: &TestApp, token: &str, body: &Value) -> Value {
    json_ok(patch_me(app, Some(token), body).await, &body.to_string()).await
}

/// A PATCH that must be refused with 422; returns the fields named.
async fn patch_refused(app: &TestApp, token: &str, body: &Value) -> Vec<String> {
    let problem = assert_problem(
        patch_me(app, Some(token), body).await,
        422,
        "validation_failed",
    )
    .await;
    error_fields(&problem)
}

/// `{field: value}`.
fn one(field: &str, value: impl Into<Value>) -> Value {
    let mut map = Map::new();
    map.insert(field.to_owned(), value.into());
    Value::Object(map)
}

/// `GET /users` with `q` and other query parameters, properly encoded.
async fn search(app: &TestApp, q: &str, extra: &[(&str, &str)], token: Option<&str>) -> Response {
    let mut query = vec![("q", q)];
    query.extend_from_slice(extra);
    app.request(Method::GET, USERS, token)
        .query(&query)
        .send()
        .await
        .unwrap()
}

async fn search_names(app: &TestApp, q: &str) -> Vec<String> {
    usernames(&json_ok(search(app, q, &[("limit", "100")], None).await, q).await)
}

async fn delete_me(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    app.request(Method::DELETE, ME, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// PATCH /me
// ---------------------------------------------------------------------------------------

async fn patching_each_field_changes_it_everywhere_and_nothing_else(app: TestApp) {
    let token = app.user("alice").await;
    let mut expected = json!({"display_name": "", "bio": "", "location": "", "website": ""});
    let changes = [
        ("display_name", "Alice Liddell"),
        ("bio", "Curiouser and curiouser."),
        ("location", "Wonderland"),
        ("website", "https://alice.example/home"),
    ];
    for (field, value) in changes {
        let returned = patch_ok(&app, &token, &one(field, value)).await;
        expected[field] = json!(value);
        let me = app.get_ok(ME, Some(&token)).await;
        let public = app.get_ok(&format!("{USERS}/alice"), None).await;
        for (source, body) in [("PATCH", &returned), ("GET /me", &me), ("profile", &public)] {
            for checked in TEXT_FIELDS {
                assert_eq!(
                    body[checked], expected[checked],
                    "{source}: {checked} after changing {field}"
                );
            }
            assert_eq!(body["username"], "alice", "{source}");
        }
        assert_eq!(returned["email"], "alice@example.com");
        assert_eq!(returned, me, "PATCH answers what GET /me shows");
    }
}

async fn fields_left_out_or_null_are_unchanged(app: TestApp) {
    let token = app.user("alice").await;
    let full = json!({
        "display_name": "Alice",
        "bio": "Bio",
        "location": "Oxford",
        "website": "http://alice.example",
    });
    let before = patch_ok(&app, &token, &full).await;
    for body in [
        json!({}),
        json!({"username": null, "display_name": null, "bio": null, "location": null, "website": null}),
    ] {
        let after = patch_ok(&app, &token, &body).await;
        assert_eq!(after, before, "{body}");
    }
    let after = patch_ok(&app, &token, &json!({"bio": "New bio"})).await;
    assert_eq!(after["bio"], "New bio");
    for field in ["display_name", "location", "website", "username", "email"] {
        assert_eq!(after[field], before[field], "{field}");
    }
}

async fn an_empty_string_clears_a_field(app: TestApp) {
    let token = app.user("alice").await;
    patch_ok(
        &app,
        &token,
        &json!({"display_name": "A", "bio": "B", "location": "C", "website": "https://c.example"}),
    )
    .await;
    let cleared = patch_ok(
        &app,
        &token,
        &json!({"display_name": "", "bio": "", "location": "", "website": ""}),
    )
    .await;
    for field in TEXT_FIELDS {
        assert_eq!(cleared[field], "", "{field}");
    }
    let public = app.get_ok(&format!("{USERS}/alice"), None).await;
    for field in TEXT_FIELDS {
        assert_eq!(public[field], "", "{field}");
    }
}

async fn patched_values_are_trimmed(app: TestApp) {
    let token = app.user("alice").await;
    let me = patch_ok(
        &app,
        &token,
        &json!({
            "display_name": "  Alice Liddell \t",
            "bio": "\n  Line one\nline two  \n",
            "location": "   Oxford   ",
            "website": "  https://alice.example  ",
        }),
    )
    .await;
    assert_eq!(me["display_name"], "Alice Liddell");
    assert_eq!(me["bio"], "Line one\nline two", "inner line breaks stay");
    assert_eq!(me["location"], "Oxford");
    assert_eq!(me["website"], "https://alice.example");
}

async fn display_name_allows_50_characters_not_51(app: TestApp) {
    let token = app.user("alice").await;
    let fifty = "é".repeat(50);
    let me = patch_ok(&app, &token, &json!({"display_name": fifty})).await;
    assert_eq!(
        me["display_name"], fifty,
        "50 × é is 100 bytes but 50 characters"
    );
    let ascii = "a".repeat(50);
    patch_ok(&app, &token, &json!({"display_name": ascii})).await;

    for too_long in ["é".repeat(51), "a".repeat(51)] {
        let fields = patch_refused(&app, &token, &json!({"display_name": too_long})).await;
        assert_eq!(fields, ["display_name"]);
    }
    let me = app.get_ok(ME, Some(&token)).await;
    assert_eq!(
        me["display_name"], ascii,
        "a refused change changes nothing"
    );
}

async fn bio_allows_500_characters_not_501(app: TestApp) {
    let token = app.user("alice").await;
    let five_hundred = "ü".repeat(500);
    let me = patch_ok(&app, &token, &json!({"bio": five_hundred})).await;
    assert_eq!(me["bio"], five_hundred);
    let fields = patch_refused(&app, &token, &json!({"bio": "b".repeat(501)})).await;
    assert_eq!(fields, ["bio"]);
    let fields = patch_refused(&app, &token, &json!({"bio": "ü".repeat(501)})).await;
    assert_eq!(fields, ["bio"]);
    assert_eq!(app.get_ok(ME, Some(&token)).await["bio"], five_hundred);
}

async fn location_allows_100_characters_not_101(app: TestApp) {
    let token = app.user("alice").await;
    let hundred = "ø".repeat(100);
    let me = patch_ok(&app, &token, &json!({"location": hundred})).await;
    assert_eq!(me["location"], hundred);
    let fields = patch_refused(&app, &token, &json!({"location": "l".repeat(101)})).await;
    assert_eq!(fields, ["location"]);
    assert_eq!(app.get_ok(ME, Some(&token)).await["location"], hundred);
}

async fn website_may_be_empty_or_an_http_or_https_url(app: TestApp) {
    let token = app.user("alice").await;
    for website in [
        "https://alice.example",
        "http://alice.example/path?q=1#top",
        "https://sub.alice.example:8443/",
        "",
    ] {
        let me = patch_ok(&app, &token, &json!({"website": website})).await;
        assert_eq!(me["website"], website);
    }
}

async fn website_refuses_other_schemes_and_bare_hosts(app: TestApp) {
    let token = app.user("alice").await;
    patch_ok(&app, &token, &json!({"website": "https://alice.example"})).await;
    for website in [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "ftp://alice.example",
        "alice.example",
        "www.alice.example/path",
        "data:text/html,<script>alert(1)</script>",
        "https://",
        "mailto:alice@example.com",
    ] {
        let fields = patch_refused(&app, &token, &json!({"website": website})).await;
        assert_eq!(fields, ["website"], "{website}");
    }
    let me = app.get_ok(ME, Some(&token)).await;
    assert_eq!(me["website"], "https://alice.example");
}

async fn website_allows_200_characters_not_201(app: TestApp) {
    let token = app.user("alice").await;
    let prefix = "https://alice.example/";
    let exactly_200 = format!("{prefix}{}", "a".repeat(200 - prefix.len()));
    assert_eq!(exactly_200.len(), 200);
    let me = patch_ok(&app, &token, &json!({"website": exactly_200})).await;
    assert_eq!(me["website"], exactly_200);
    let too_long = format!("{exactly_200}b");
    let fields = patch_refused(&app, &token, &json!({"website": too_long})).await;
    assert_eq!(fields, ["website"]);
    assert_eq!(app.get_ok(ME, Some(&token)).await["website"], exactly_200);
}

async fn website_refuses_control_characters_inside_the_url(app: TestApp) {
    let token = app.user("alice").await;
    patch_ok(&app, &token, &json!({"website": "https://alice.example"})).await;
    for website in [
        "https://alice.example/a\nb",
        "https://alice.example/a\tb",
        "https://alice.example/a\rb",
        "https://alice.example/\u{0}",
        "https://alice\u{0}.example/",
        "https://alice.example/\u{7f}",
    ] {
        let response = patch_me(&app, Some(&token), &json!({"website": website})).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{website:?}: {}",
            response.text().await.unwrap()
        );
    }
    let me = app.get_ok(ME, Some(&token)).await;
    assert_eq!(me["website"], "https://alice.example");
}

async fn several_bad_fields_are_listed_in_one_422_and_nothing_changes(app: TestApp) {
    let token = app.user("alice").await;
    let before = app.get_ok(ME, Some(&token)).await;
    let fields = patch_refused(
        &app,
        &token,
        &json!({
            "username": "x",
            "display_name": "d".repeat(51),
            "bio": "b".repeat(501),
            "location": "l".repeat(101),
            "website": "ftp://alice.example",
        }),
    )
    .await;
    let mut sorted = fields.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["bio", "display_name", "location", "username", "website"],
        "{fields:?}"
    );

    // A valid field next to an invalid one is not applied either.
    let fields = patch_refused(
        &app,
        &token,
        &json!({"display_name": "Valid", "website": "javascript:alert(1)"}),
    )
    .await;
    assert_eq!(fields, ["website"]);
    assert_eq!(app.get_ok(ME, Some(&token)).await, before);
}

async fn wrong_json_types_are_422_naming_the_field(app: TestApp) {
    let token = app.user("alice").await;
    for (field, value) in [
        ("display_name", json!(5)),
        ("bio", json!(["a"])),
        ("website", json!({"url": "https://x.example"})),
        ("username", json!(true)),
    ] {
        let fields = patch_refused(&app, &token, &one(field, value)).await;
        assert_eq!(fields, [field]);
    }
}

async fn changing_the_username_moves_the_profile(app: TestApp) {
    let token = app.user("alice").await;
    let before = app.get_ok(ME, Some(&token)).await;
    let me = patch_ok(&app, &token, &json!({"username": "alicia"})).await;
    assert_eq!(me["username"], "alicia");
    assert_eq!(me["id"], before["id"], "the same account");

    let profile = app.get_ok(&format!("{USERS}/alicia"), None).await;
    assert_eq!(profile["id"], before["id"]);
    let response = app.get(&format!("{USERS}/alice"), None).await;
    assert_problem(response, 404, "not_found").await;
    assert_eq!(app.get_ok(ME, Some(&token)).await["username"], "alicia");
    // The email is unchanged, so logging in still works.
    app.token("alice@example.com", PASSWORD).await;
    assert_eq!(app.list_usernames(USERS, None).await, ["alicia"]);
}

async fn a_new_username_is_lower_cased(app: TestApp) {
    let token = app.user("alice").await;
    let me = patch_ok(&app, &token, &json!({"username": "Alice_In_WONDERLAND"})).await;
    assert_eq!(me["username"], "alice_in_wonderland");
    app.get_ok(&format!("{USERS}/alice_in_wonderland"), None)
        .await;
    app.get_ok(&format!("{USERS}/ALICE_in_wonderland"), None)
        .await;
}

async fn an_invalid_new_username_is_422(app: TestApp) {
    let token = app.user("alice").await;
    for username in ["ab", &"a".repeat(31), "al ice", "al-ice", "ålice", ""] {
        let fields = patch_refused(&app, &token, &json!({"username": username})).await;
        assert_eq!(fields, ["username"], "{username:?}");
    }
    assert_eq!(app.get_ok(ME, Some(&token)).await["username"], "alice");
}

async fn a_taken_username_in_any_case_is_409(app: TestApp) {
    let token = app.user("alice").await;
    app.user("bob").await;
    for username in ["bob", "BOB", "Bob"] {
        let response = patch_me(&app, Some(&token), &json!({"username": username})).await;
        let problem = assert_problem(response, 409, "username_taken").await;
        assert_eq!(error_fields(&problem), ["username"]);
    }
    // Nothing else in the refused request was applied.
    let response = patch_me(
        &app,
        Some(&token),
        &json!({"username": "bob", "display_name": "Not Bob"}),
    )
    .await;
    assert_problem(response, 409, "username_taken").await;
    let me = app.get_ok(ME, Some(&token)).await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["display_name"], "");
    assert_eq!(
        app.get_ok(&format!("{USERS}/bob"), None).await["username"],
        "bob"
    );
}

async fn changing_to_your_own_username_is_fine(app: TestApp) {
    let token = app.user("alice").await;
    for username in ["alice", "ALICE"] {
        let response = patch_me(
            &app,
            Some(&token),
            &json!({"username": username, "bio": username}),
        )
        .await;
        let me = json_ok(response, username).await;
        assert_eq!(me["username"], "alice");
        assert_eq!(me["bio"], username);
    }
}

async fn a_freed_username_can_be_taken_by_someone_else(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    patch_ok(&app, &alice, &json!({"username": "alicia"})).await;
    let me = patch_ok(&app, &bob, &json!({"username": "alice"})).await;
    assert_eq!(me["username"], "alice");
    assert_eq!(
        app.get_ok(&format!("{USERS}/alice"), None).await["id"],
        me["id"]
    );
    let response = app.register("other@example.com", "alicia", PASSWORD).await;
    assert_problem(response, 409, "username_taken").await;
}

async fn parallel_renames_to_one_username_let_exactly_one_win(app: TestApp) {
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(app.user(&format!("racer_{i}")).await);
    }
    let mut set = tokio::task::JoinSet::new();
    for token in tokens {
        let client = app.client.clone();
        let url = app.url(ME);
        set.spawn(async move {
            client
                .patch(url)
                .bearer_auth(token)
                .json(&json!({"username": "Winner"}))
                .send()
                .await
                .unwrap()
        });
    }
    let mut renamed = 0;
    while let Some(response) = set.join_next().await {
        let response = response.unwrap();
        if response.status() == StatusCode::OK {
            renamed += 1;
        } else {
            let problem = assert_problem(response, 409, "username_taken").await;
            assert_eq!(error_fields(&problem), ["username"]);
        }
    }
    assert_eq!(renamed, 1, "exactly one rename wins");
    let names = app.list_usernames(USERS, None).await;
    assert_eq!(
        names.iter().filter(|n| *n == "winner").count(),
        1,
        "{names:?}"
    );
    assert_eq!(names.len(), 8);
}

async fn patch_me_needs_a_token(app: TestApp) {
    app.user("alice").await;
    let response = patch_me(&app, None, &json!({"bio": "x"})).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    let response = patch_me(&app, Some(UNKNOWN_TOKEN), &json!({"bio": "x"})).await;
    assert_problem(response, 401, "invalid_token").await;
    assert_eq!(app.get_ok(&format!("{USERS}/alice"), None).await["bio"], "");
}

async fn patch_me_refuses_bodies_that_are_not_json_with_415(app: TestApp) {
    let token = app.user("alice").await;
    for content_type in [
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        None,
    ] {
        let mut request = app.request(Method::PATCH, ME, Some(&token));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.body("{\"bio\": \"x\"}").send().await.unwrap();
        assert_problem(response, 415, "unsupported_media_type").await;
    }
    assert_eq!(app.get_ok(ME, Some(&token)).await["bio"], "");
}

async fn patch_me_refuses_malformed_json_with_400(app: TestApp) {
    let token = app.user("alice").await;
    for body in ["{\"bio\": \"x\"", "{bio: 1}", ""] {
        let response = app
            .request(Method::PATCH, ME, Some(&token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "malformed_json").await;
    }
    assert_eq!(app.get_ok(ME, Some(&token)).await["bio"], "");
}

both_databases!(
    patching_each_field_changes_it_everywhere_and_nothing_else,
    fields_left_out_or_null_are_unchanged,
    an_empty_string_clears_a_field,
    patched_values_are_trimmed,
    display_name_allows_50_characters_not_51,
    bio_allows_500_characters_not_501,
    location_allows_100_characters_not_101,
    website_may_be_empty_or_an_http_or_https_url,
    website_refuses_other_schemes_and_bare_hosts,
    website_allows_200_characters_not_201,
    website_refuses_control_characters_inside_the_url,
    several_bad_fields_are_listed_in_one_422_and_nothing_changes,
    wrong_json_types_are_422_naming_the_field,
    changing_the_username_moves_the_profile,
    a_new_username_is_lower_cased,
    an_invalid_new_username_is_422,
    a_taken_username_in_any_case_is_409,
    changing_to_your_own_username_is_fine,
    a_freed_username_can_be_taken_by_someone_else,
    parallel_renames_to_one_username_let_exactly_one_win,
    patch_me_needs_a_token,
    patch_me_refuses_bodies_that_are_not_json_with_415,
    patch_me_refuses_malformed_json_with_400,
);

// ---------------------------------------------------------------------------------------
// GET /users/{username}
// ---------------------------------------------------------------------------------------

async fn a_profile_is_public_with_null_relations(app: TestApp) {
    let token = app.user("alice").await;
    let me = patch_ok(&app, &token, &json!({"display_name": "Alice", "bio": "Hi"})).await;
    let response = app.get(&format!("{USERS}/alice"), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let user: Value = response.json().await.unwrap();
    let mut fields: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "avatar_url",
            "bio",
            "blocked_by",
            "blocking",
            "created_at",
            "display_name",
            "followed_by",
            "followers_count",
            "following",
            "following_count",
            "id",
            "location",
            "locked",
            "muting",
            "posts_count",
            "requested",
            "username",
            "website",
        ],
        "the User object, without email"
    );
    assert_eq!(user["following"], Value::Null);
    assert_eq!(user["followed_by"], Value::Null);
    for field in [
        "id",
        "username",
        "display_name",
        "bio",
        "created_at",
        "avatar_url",
    ] {
        assert_eq!(user[field], me[field], "{field}");
    }
    assert!(user["id"].is_string());
    assert_eq!(user["posts_count"], 0);
}

async fn profiles_are_found_in_any_case(app: TestApp) {
    app.user("alice_9").await;
    for name in ["alice_9", "ALICE_9", "Alice_9"] {
        let user = app.get_ok(&format!("{USERS}/{name}"), None).await;
        assert_eq!(user["username"], "alice_9");
    }
}

async fn an_unknown_profile_is_a_404_problem(app: TestApp) {
    app.user("alice").await;
    for name in ["nobody", "alic", "alice_", "a", "%20alice"] {
        let response = app.get(&format!("{USERS}/{name}"), None).await;
        assert_problem(response, 404, "not_found").await;
    }
}

async fn relations_on_a_profile_are_from_the_viewers_side(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    app.follow(&alice, "bob").await;

    let relation = |user: Value| (user["following"].clone(), user["followed_by"].clone());
    let seen_by = |token: String, name: &'static str| {
        let app = &app;
        async move { relation(app.get_ok(&format!("{USERS}/{name}"), Some(&token)).await) }
    };
    assert_eq!(
        seen_by(alice.clone(), "bob").await,
        (json!(true), json!(false))
    );
    assert_eq!(
        seen_by(bob.clone(), "alice").await,
        (json!(false), json!(true))
    );
    assert_eq!(
        seen_by(carol.clone(), "alice").await,
        (json!(false), json!(false))
    );
    assert_eq!(
        seen_by(carol.clone(), "bob").await,
        (json!(false), json!(false))
    );

    app.follow(&bob, "alice").await;
    assert_eq!(
        seen_by(alice.clone(), "bob").await,
        (json!(true), json!(true))
    );
    assert_eq!(
        seen_by(bob.clone(), "alice").await,
        (json!(true), json!(true))
    );
    assert_eq!(
        seen_by(carol.clone(), "bob").await,
        (json!(false), json!(false))
    );
}

async fn relations_on_your_own_profile_are_null(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&alice, "bob").await;
    app.follow(&bob, "alice").await;
    let user = app.get_ok(&format!("{USERS}/ALICE"), Some(&alice)).await;
    assert_eq!(user["following"], Value::Null);
    assert_eq!(user["followed_by"], Value::Null);
    let me = app.get_ok(ME, Some(&alice)).await;
    assert_eq!(me["following"], Value::Null);
    assert_eq!(me["followed_by"], Value::Null);
}

async fn an_invalid_token_is_401_on_public_user_endpoints(app: TestApp) {
    let token = app.user("alice").await;
    app.logout(&token).await;
    for path in [
        "/api/v1/users/alice",
        "/api/v1/users",
        "/api/v1/users?q=ali",
        "/api/v1/users/alice/followers",
        "/api/v1/users/alice/following",
    ] {
        for bad in [UNKNOWN_TOKEN, token.as_str()] {
            let response = app.get(path, Some(bad)).await;
            assert_problem(response, 401, "invalid_token").await;
        }
        let response = app
            .request(Method::GET, path, None)
            .header("authorization", "Bearer not-a-token")
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "invalid_token").await;
    }
}

async fn a_nul_character_in_a_username_path_is_404(app: TestApp) {
    let token = app.user("alice").await;
    app.user("bob").await;
    for path in [
        "/api/v1/users/%00",
        "/api/v1/users/ali%00ce",
        "/api/v1/users/%00/followers",
        "/api/v1/users/alice%00/following",
    ] {
        let response = app.get(path, None).await;
        assert_problem(response, 404, "not_found").await;
    }
    for method in [Method::PUT, Method::DELETE] {
        let response = app
            .request(method, "/api/v1/me/following/%00bob", Some(&token))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "not_found").await;
    }
    assert_eq!(app.follow_counts("bob").await, (0, 0));
}

async fn a_nul_character_in_q_or_a_cursor_matches_nothing_and_never_fails(app: TestApp) {
    app.user("alice").await;
    app.user("alina").await;
    // No username or display name can hold a NUL, so such a q finds nobody (a 400 would
    // do too); it must neither fail nor match as if the text ended at the NUL.
    for q in ["\u{0}", "ali\u{0}", "\u{0}ali", "a\u{0}c"] {
        let response = search(&app, q, &[], None).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "q={q:?}: {status} {body}"
        );
        if status == StatusCode::OK {
            let page: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(page["items"], json!([]), "q={q:?}");
        }
    }
    use base64::Engine as _;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1|1|al\u{0}");
    let response = search(&app, "ali", &[("cursor", &forged)], None).await;
    assert!(
        matches!(response.status().as_u16(), 200 | 400),
        "a cursor holding a NUL: {}",
        response.status()
    );
}

both_databases!(
    a_profile_is_public_with_null_relations,
    profiles_are_found_in_any_case,
    an_unknown_profile_is_a_404_problem,
    relations_on_a_profile_are_from_the_viewers_side,
    relations_on_your_own_profile_are_null,
    an_invalid_token_is_401_on_public_user_endpoints,
    a_nul_character_in_a_username_path_is_404,
    a_nul_character_in_q_or_a_cursor_matches_nothing_and_never_fails,
);

// ---------------------------------------------------------------------------------------
// GET /users: listing and search
// ---------------------------------------------------------------------------------------

async fn without_q_every_user_is_listed_newest_first(app: TestApp) {
    // An empty database lists nothing rather than failing.
    let page = app.get_ok(USERS, None).await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
    for name in ["carol", "alice", "bob", "dave"] {
        app.user(name).await;
    }
    let page = app.get_ok(USERS, None).await;
    assert_eq!(usernames(&page), ["dave", "bob", "alice", "carol"]);
    assert_eq!(page["next_cursor"], Value::Null);
    for user in page["items"].as_array().unwrap() {
        assert_eq!(user["following"], Value::Null);
        assert!(user.get("email").is_none(), "no email in lists: {user}");
    }
}

async fn q_matches_username_or_display_name_case_insensitively(app: TestApp) {
    let bob = app.user("bob").await;
    app.user("alice").await;
    let carol = app.user("carol").await;
    app.user("dave").await;
    patch_ok(&app, &bob, &json!({"display_name": "Bobby WONDERLAND"})).await;
    patch_ok(
        &app,
        &carol,
        &json!({"display_name": "Carol of Wonderland"}),
    )
    .await;

    let mut found = search_names(&app, "wonder").await;
    found.sort();
    assert_eq!(found, ["bob", "carol"]);
    assert_eq!(search_names(&app, "LIC").await, ["alice"]);
    assert_eq!(search_names(&app, "aRoL").await, ["carol"]);
    assert_eq!(search_names(&app, "dAVE").await, ["dave"]);
    assert_eq!(search_names(&app, "bbY w").await, ["bob"]);
    assert!(search_names(&app, "zzz").await.is_empty());
    assert!(search_names(&app, "wonderlands").await.is_empty());
}

async fn q_matches_non_ascii_display_names_case_insensitively(app: TestApp) {
    let ann = app.user("ann").await;
    let zoe = app.user("zoe").await;
    app.user("alice").await;
    patch_ok(&app, &ann, &json!({"display_name": "Ålice Ørsted"})).await;
    patch_ok(&app, &zoe, &json!({"display_name": "ZOË ΣΊΣΥΦΟΣ"})).await;
    for q in ["åli", "ÅLI", "Ålice", "ørs", "ØRSTED", "ål"] {
        assert_eq!(search_names(&app, q).await, ["ann"], "{q}");
    }
    for q in ["zoë", "ë", "ZOË", "σίσυφ", "ΣΊΣΥΦ"] {
        assert_eq!(search_names(&app, q).await, ["zoe"], "{q}");
    }
}

async fn q_matches_a_capital_sigma_whatever_its_position(app: TestApp) {
    let zoe = app.user("zoe").await;
    patch_ok(&app, &zoe, &json!({"display_name": "ΣΊΣΥΦΟΣ"})).await;
    // Lower-casing a needle that ends in Σ gives a final ς, which the stored "σίσυφος"
    // does not contain at that place: a case-insensitive search must still find it.
    for q in ["ΣΊΣ", "ΊΣ", "σίσ", "Σ", "ΣΊΣΥΦΟΣ"] {
        assert_eq!(search_names(&app, q).await, ["zoe"], "{q}");
    }
}

async fn q_ranks_exact_username_then_prefix_then_the_rest(app: TestApp) {
    for name in ["malia", "alice", "zed", "ali", "alibi"] {
        app.user(name).await;
    }
    let bob = app.user("bob").await;
    patch_ok(&app, &bob, &json!({"display_name": "Ali Baba"})).await;

    for q in ["ali", "ALI"] {
        let found = search_names(&app, q).await;
        assert_eq!(found.len(), 5, "{q}: {found:?}");
        assert_eq!(found[0], "ali", "exact username first: {found:?}");
        let mut prefixed = found[1..3].to_vec();
        prefixed.sort();
        assert_eq!(prefixed, ["alibi", "alice"], "then prefixes: {found:?}");
        let mut rest = found[3..].to_vec();
        rest.sort();
        assert_eq!(rest, ["bob", "malia"], "then the rest: {found:?}");
    }
    // Without an exact match the prefixes still lead.
    let found = search_names(&app, "al").await;
    let mut head = found[..3].to_vec();
    head.sort();
    assert_eq!(head, ["ali", "alibi", "alice"], "{found:?}");
    let mut rest = found[3..].to_vec();
    rest.sort();
    assert_eq!(rest, ["bob", "malia"], "{found:?}");
}

async fn q_matches_like_wildcards_literally(app: TestApp) {
    for name in ["axb", "a_b", "a_bc", "xaxbx", "plain"] {
        app.user(name).await;
    }
    let pct = app.user("pct").await;
    patch_ok(&app, &pct, &json!({"display_name": "100% real"})).await;
    let slash = app.user("slash").await;
    patch_ok(&app, &slash, &json!({"display_name": "back\\slash"})).await;

    assert_eq!(search_names(&app, "a_b").await, ["a_b", "a_bc"]);
    let mut underscored = search_names(&app, "_").await;
    underscored.sort();
    assert_eq!(underscored, ["a_b", "a_bc"]);
    assert_eq!(search_names(&app, "%").await, ["pct"]);
    assert_eq!(search_names(&app, "0% r").await, ["pct"]);
    assert!(search_names(&app, "a%b").await.is_empty());
    assert!(search_names(&app, "a%").await.is_empty());
    assert_eq!(search_names(&app, "\\").await, ["slash"]);
    assert_eq!(search_names(&app, "k\\s").await, ["slash"]);
    assert!(search_names(&app, "\\_").await.is_empty());

    // Needles of three characters or more go through the trigram index (`GLOB` on SQLite):
    // its wildcards match only themselves too.
    let globby = app.user("globby").await;
    patch_ok(&app, &globby, &json!({"display_name": "a*b?c[d]e"})).await;
    assert_eq!(search_names(&app, "a*b?c[d]").await, ["globby"]);
    assert_eq!(search_names(&app, "?c[").await, ["globby"]);
    assert_eq!(search_names(&app, "d]e").await, ["globby"]);
    assert!(search_names(&app, "a*c").await.is_empty());
    assert!(search_names(&app, "a?b").await.is_empty());
    assert!(search_names(&app, "[a]*").await.is_empty());
    assert_eq!(search_names(&app, "a_bc").await, ["a_bc"]);
    assert!(search_names(&app, "a_xc").await.is_empty());
}

async fn q_of_one_or_two_characters_works(app: TestApp) {
    for name in ["bob", "alice", "robin"] {
        app.user(name).await;
    }
    let mut found = search_names(&app, "b").await;
    found.sort();
    assert_eq!(found, ["bob", "robin"]);
    assert_eq!(search_names(&app, "B").await[0], "bob", "b is bob's prefix");
    assert_eq!(search_names(&app, "li").await, ["alice"]);
    let mut found = search_names(&app, "OB").await;
    found.sort();
    assert_eq!(found, ["bob", "robin"]);
}

async fn q_must_be_1_to_100_characters(app: TestApp) {
    app.user("alice").await;
    let response = search(&app, &"a".repeat(101), &[], None).await;
    assert_problem(response, 400, "invalid_query").await;
    let response = search(&app, &"é".repeat(101), &[], None).await;
    assert_problem(response, 400, "invalid_query").await;
    for q in ["a".repeat(100), "é".repeat(100)] {
        let page = json_ok(search(&app, &q, &[], None).await, "100 characters").await;
        assert_eq!(page["items"], json!([]));
    }
}

async fn search_results_carry_viewer_relations(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("alina").await;
    app.follow(&bob, "alice").await;
    let page = json_ok(search(&app, "ali", &[], Some(&bob)).await, "search").await;
    let items = page["items"].as_array().unwrap();
    let by_name = |name: &str| {
        items
            .iter()
            .find(|user| user["username"] == name)
            .unwrap_or_else(|| panic!("{name} in {page}"))
            .clone()
    };
    assert_eq!(by_name("alice")["following"], true);
    assert_eq!(by_name("alice")["followed_by"], false);
    assert_eq!(by_name("alina")["following"], false);
    assert_eq!(by_name("alice")["followers_count"], 1);

    let page = app.get_ok(USERS, Some(&alice)).await;
    for user in page["items"].as_array().unwrap() {
        match user["username"].as_str().unwrap() {
            "alice" => assert_eq!(
                (&user["following"], &user["followed_by"]),
                (&Value::Null, &Value::Null)
            ),
            "bob" => assert_eq!(
                (&user["following"], &user["followed_by"]),
                (&json!(false), &json!(true))
            ),
            _ => assert_eq!(
                (&user["following"], &user["followed_by"]),
                (&json!(false), &json!(false))
            ),
        }
    }
    let anonymous = json_ok(search(&app, "ali", &[], None).await, "search").await;
    for user in anonymous["items"].as_array().unwrap() {
        assert_eq!(user["following"], Value::Null);
        assert_eq!(user["followed_by"], Value::Null);
    }
}

async fn search_follows_username_and_display_name_changes(app: TestApp) {
    let alice = app.user("alice").await;
    patch_ok(&app, &alice, &json!({"display_name": "Queen of Hearts"})).await;
    assert_eq!(search_names(&app, "hearts").await, ["alice"]);
    patch_ok(
        &app,
        &alice,
        &json!({"username": "zelda", "display_name": "Princess"}),
    )
    .await;
    assert!(search_names(&app, "alice").await.is_empty());
    assert!(search_names(&app, "hearts").await.is_empty());
    assert_eq!(search_names(&app, "zeld").await, ["zelda"]);
    assert_eq!(search_names(&app, "prince").await, ["zelda"]);
}

both_databases!(
    without_q_every_user_is_listed_newest_first,
    q_matches_username_or_display_name_case_insensitively,
    q_matches_non_ascii_display_names_case_insensitively,
    q_matches_a_capital_sigma_whatever_its_position,
    q_ranks_exact_username_then_prefix_then_the_rest,
    q_matches_like_wildcards_literally,
    q_of_one_or_two_characters_works,
    q_must_be_1_to_100_characters,
    search_results_carry_viewer_relations,
    search_follows_username_and_display_name_changes,
);

// ---------------------------------------------------------------------------------------
// Pagination of /users
// ---------------------------------------------------------------------------------------

async fn out_of_range_limits_are_400_invalid_limit(app: TestApp) {
    app.user("alice").await;
    for limit in ["0", "101", "-1", "abc", "1.5", "99999999999999999999"] {
        for path in [
            format!("{USERS}?limit={limit}"),
            format!("{USERS}?q=ali&limit={limit}"),
        ] {
            let response = app.get(&path, None).await;
            assert_problem(response, 400, "invalid_limit").await;
        }
    }
    for limit in ["1", "100"] {
        let page = app.get_ok(&format!("{USERS}?limit={limit}"), None).await;
        assert_eq!(usernames(&page), ["alice"]);
    }
}

async fn garbage_cursors_are_400_invalid_cursor(app: TestApp) {
    for name in ["alice", "alina", "alix"] {
        app.user(name).await;
    }
    // Real cursors of each list, to be used on the other one.
    let newest = app.get_ok(&format!("{USERS}?limit=1"), None).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let ranked =
        json_ok(search(&app, "ali", &[("limit", "1")], None).await, "search").await["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let garbage = [
        "garbage".to_owned(),
        "!!!".to_owned(),
        b64("garbage"),
        b64("1|not-a-uuid"),
        b64("2|019acbde-2f7a-7c3e-9a53-5d6c3e0b1f42"),
        b64("1|x|alice"),
        "A".repeat(2000),
    ];
    for cursor in &garbage {
        for (path, extra) in [(USERS, ""), (USERS, "&q=ali")] {
            let response = app
                .get(&format!("{path}?cursor={cursor}{extra}"), None)
                .await;
            assert_problem(response, 400, "invalid_cursor").await;
        }
    }
    // Bytes that are not UTF-8 make the whole query string unreadable.
    let response = app.get(&format!("{USERS}?cursor=%FF%FE"), None).await;
    assert_problem(response, 400, "invalid_query").await;
    // A forged cursor that decodes is only another position, never an error.
    let forged = b64("1|1|alice");
    let page = json_ok(
        search(&app, "ali", &[("cursor", &forged)], None).await,
        &forged,
    )
    .await;
    assert_eq!(usernames(&page), ["alina", "alix"]);
    let response = app.get(&format!("{USERS}?cursor={ranked}"), None).await;
    assert_problem(response, 400, "invalid_cursor").await;
    let response = search(&app, "ali", &[("cursor", &newest)], None).await;
    assert_problem(response, 400, "invalid_cursor").await;
}

async fn walking_every_page_returns_each_user_once_in_order(app: TestApp) {
    let names = ["usr1", "usr2", "usr3", "usr4", "usr5"];
    for name in names {
        app.user(name).await;
    }
    let pages = app
        .walk(&format!("{USERS}?limit=2"), None, 2, usernames)
        .await;
    assert_eq!(
        pages,
        [
            strings(&["usr5", "usr4"]),
            strings(&["usr3", "usr2"]),
            strings(&["usr1"])
        ]
    );

    // With an exact multiple of the limit, the last full page still ends the walk.
    let pages = app
        .walk(&format!("{USERS}?limit=5"), None, 5, usernames)
        .await;
    assert_eq!(pages, [strings(&["usr5", "usr4", "usr3", "usr2", "usr1"])]);
    let response = app.get(&format!("{USERS}?limit=5"), None).await;
    assert!(response.headers().get("link").is_none());
}

async fn the_link_header_leads_to_the_same_page_as_the_cursor(app: TestApp) {
    for name in ["usr1", "usr2", "usr3", "usr4"] {
        app.user(name).await;
    }
    let first = app
        .fetch_page(&app.url(&format!("{USERS}?limit=2")), None)
        .await;
    let link = first.next.expect("a Link to the second page");
    assert!(link.starts_with("http://127.0.0.1:"), "{link}");
    assert!(link.contains("limit=2"), "the Link keeps the limit: {link}");
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let by_link = app.fetch_page(&link, None).await;
    let by_cursor = app
        .get_ok(&format!("{USERS}?limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(by_link.body, by_cursor);
    assert_eq!(by_link.usernames(), ["usr2", "usr1"]);
    assert_eq!(by_link.body["next_cursor"], Value::Null);
}

async fn search_pagination_keeps_q(app: TestApp) {
    for name in [
        "pag_e", "other", "pag_a", "zed", "pag_d", "pag", "pag_c", "pag_b",
    ] {
        app.user(name).await;
    }
    let zed_token = app.token("zed@example.com", PASSWORD).await;
    patch_ok(&app, &zed_token, &json!({"display_name": "Zed Pagoda"})).await;

    let all = search_names(&app, "pag").await;
    assert_eq!(all.len(), 7, "{all:?}");
    let pages = app
        .walk(
            &format!("{USERS}?q=PAG&limit=2&unknown=ignored"),
            None,
            2,
            usernames,
        )
        .await;
    assert_eq!(pages.len(), 4, "{pages:?}");
    let walked: Vec<String> = pages.concat();
    assert_eq!(walked, all, "the walk gives the one-page result in order");
    assert_eq!(walked[0], "pag");
    assert_eq!(walked[6], "zed");

    // The same with a non-ASCII q, which the Link must carry encoded.
    let pages = app
        .walk(&format!("{USERS}?q=%C3%A5%20x&limit=1"), None, 1, usernames)
        .await;
    assert_eq!(pages, [Vec::<String>::new()]);
    let ann = app.user("ann").await;
    let bea = app.user("bea").await;
    patch_ok(&app, &ann, &json!({"display_name": "Å X one"})).await;
    patch_ok(&app, &bea, &json!({"display_name": "å x two"})).await;
    let walked = app
        .walk(&format!("{USERS}?q=%C3%A5%20x&limit=1"), None, 1, usernames)
        .await
        .concat();
    assert_eq!(walked, ["ann", "bea"]);
}

async fn a_walk_stays_correct_while_users_register(app: TestApp) {
    for name in ["usr1", "usr2", "usr3", "usr4", "usr5"] {
        app.user(name).await;
    }
    let first = app
        .fetch_page(&app.url(&format!("{USERS}?limit=2")), None)
        .await;
    assert_eq!(first.usernames(), ["usr5", "usr4"]);
    app.user("new1").await;
    app.user("new2").await;
    let second = app.fetch_page(&first.next.unwrap(), None).await;
    assert_eq!(second.usernames(), ["usr3", "usr2"], "no repeats, no gaps");
    app.user("new3").await;
    let third = app.fetch_page(&second.next.unwrap(), None).await;
    assert_eq!(third.usernames(), ["usr1"]);
    assert!(third.next.is_none());

    // A ranked search walk: new matches appear only where they sort after the position.
    for name in ["sx_b", "sx_d", "sx_f"] {
        app.user(name).await;
    }
    let first = app
        .fetch_page(&app.url(&format!("{USERS}?q=sx_&limit=2")), None)
        .await;
    assert_eq!(first.usernames(), ["sx_b", "sx_d"]);
    app.user("sx_a").await;
    app.user("sx_e").await;
    let second = app.fetch_page(&first.next.unwrap(), None).await;
    assert_eq!(second.usernames(), ["sx_e", "sx_f"]);
    assert!(second.next.is_none(), "the last page");
}

both_databases!(
    out_of_range_limits_are_400_invalid_limit,
    garbage_cursors_are_400_invalid_cursor,
    walking_every_page_returns_each_user_once_in_order,
    the_link_header_leads_to_the_same_page_as_the_cursor,
    search_pagination_keeps_q,
    a_walk_stays_correct_while_users_register,
);

// ---------------------------------------------------------------------------------------
// DELETE /me
// ---------------------------------------------------------------------------------------

async fn deleting_the_account_needs_the_password(app: TestApp) {
    let token = app.user("alice").await;
    let response = delete_me(&app, Some(&token), &json!({})).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["password"]);
    let response = app
        .request(Method::DELETE, ME, Some(&token))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 415 | 422),
        "DELETE /me without a body: {}",
        response.status()
    );
    let response = delete_me(&app, None, &json!({"password": PASSWORD})).await;
    assert_problem(response, 401, "unauthorized").await;
    assert_eq!(app.get_ok(ME, Some(&token)).await["username"], "alice");
}

async fn a_wrong_password_is_403_and_deletes_nothing(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&alice, "bob").await;
    app.follow(&bob, "alice").await;
    for password in ["wrong password!", "CORRECT HORSE BATTERY", ""] {
        let response = delete_me(&app, Some(&alice), &json!({"password": password})).await;
        assert_problem(response, 403, "invalid_password").await;
    }
    assert_eq!(app.get_ok(ME, Some(&alice)).await["username"], "alice");
    app.token("alice@example.com", PASSWORD).await;
    assert_eq!(app.follow_counts("alice").await, (1, 1));
    assert_eq!(app.follow_counts("bob").await, (1, 1));
    assert_eq!(
        app.list_usernames(&format!("{USERS}/bob/followers"), None)
            .await,
        ["alice"]
    );
}

async fn deleting_the_account_removes_it_at_once(app: TestApp) {
    let token = app.user("alice").await;
    let other_session = app.token("alice@example.com", PASSWORD).await;
    app.user("bob").await;
    let old_id = app.get_ok(ME, Some(&token)).await["id"].clone();

    let response = delete_me(&app, Some(&token), &json!({"password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());

    for session in [&token, &other_session] {
        assert_problem(app.get(ME, Some(session)).await, 401, "invalid_token").await;
    }
    let response = delete_me(&app, Some(&token), &json!({"password": PASSWORD})).await;
    assert_problem(response, 401, "invalid_token").await;
    assert_problem(
        app.login("alice@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        app.get(&format!("{USERS}/alice"), None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.list_usernames(USERS, None).await, ["bob"]);
    assert!(search_names(&app, "alice").await.is_empty());
    assert!(search_names(&app, "al").await.is_empty());

    let response = app.register("alice@example.com", "alice", PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "email and name are free"
    );
    let again: Value = response.json().await.unwrap();
    assert_ne!(again["id"], old_id);
    assert_eq!(again["followers_count"], 0);
    app.token("alice@example.com", PASSWORD).await;
}

async fn deleting_the_account_corrects_the_follow_graph(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    app.follow(&alice, "bob").await;
    app.follow(&alice, "carol").await;
    app.follow(&bob, "alice").await;
    app.follow(&dave, "alice").await;
    app.follow(&dave, "bob").await;
    app.follow(&carol, "bob").await;
    assert_eq!(app.follow_counts("bob").await, (3, 1));

    let response = delete_me(&app, Some(&alice), &json!({"password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(app.follow_counts("bob").await, (2, 0));
    assert_eq!(app.follow_counts("carol").await, (0, 1));
    assert_eq!(app.follow_counts("dave").await, (0, 1));
    assert_eq!(
        app.list_usernames(&format!("{USERS}/bob/followers"), None)
            .await,
        ["carol", "dave"]
    );
    assert!(
        app.list_usernames(&format!("{USERS}/bob/following"), None)
            .await
            .is_empty()
    );
    assert!(
        app.list_usernames(&format!("{USERS}/carol/followers"), None)
            .await
            .is_empty()
    );
    assert_eq!(
        app.list_usernames(&format!("{USERS}/dave/following"), None)
            .await,
        ["bob"]
    );
    assert!(
        app.list_usernames("/api/v1/me/following", Some(&bob))
            .await
            .is_empty()
    );
    assert_eq!(
        app.list_usernames("/api/v1/me/following", Some(&dave))
            .await,
        ["bob"]
    );
    let me = app.get_ok(ME, Some(&dave)).await;
    assert_eq!(
        (&me["followers_count"], &me["following_count"]),
        (&json!(0), &json!(1))
    );

    // A new account under the old name inherits nothing.
    app.user("alice").await;
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert!(
        app.list_usernames(&format!("{USERS}/alice/followers"), None)
            .await
            .is_empty()
    );
    let bob_view = app.get_ok(&format!("{USERS}/alice"), Some(&bob)).await;
    assert_eq!(bob_view["following"], false);
    assert_eq!(bob_view["followed_by"], false);
}

both_databases!(
    deleting_the_account_needs_the_password,
    a_wrong_password_is_403_and_deletes_nothing,
    deleting_the_account_removes_it_at_once,
    deleting_the_account_corrects_the_follow_graph,
);
