//! The follow graph: follow and unfollow, exact counters, the four follow lists, their
//! pagination, and what happens under concurrent requests.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::both_databases;
use crate::helpers::{
    PASSWORD, TestApp, UNKNOWN_TOKEN, assert_all_204, assert_problem, assert_unique, usernames,
};

const MY_FOLLOWING: &str = "/api/v1/me/following";
const MY_FOLLOWERS: &str = "/api/v1/me/followers";

async fn put_follow(app: &TestApp, token: Option<&str>, username: &str) -> Response {
    app.request(Method::PUT, &format!("{MY_FOLLOWING}/{username}"), token)
        .send()
        .await
        .unwrap()
}

async fn delete_follow(app: &TestApp, token: Option<&str>, username: &str) -> Response {
    app.request(Method::DELETE, &format!("{MY_FOLLOWING}/{username}"), token)
        .send()
        .await
        .unwrap()
}

fn followers_of(username: &str) -> String {
    format!("/api/v1/users/{username}/followers")
}

fn following_of(username: &str) -> String {
    format!("/api/v1/users/{username}/following")
}

/// `(following, followed_by)` of each user in a list page, by username.
fn relations(page: &Value) -> Vec<(String, Value, Value)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| {
            (
                user["username"].as_str().unwrap().to_owned(),
                user["following"].clone(),
                user["followed_by"].clone(),
            )
        })
        .collect()
}

fn rel(name: &str, following: Value, followed_by: Value) -> (String, Value, Value) {
    (name.to_owned(), following, followed_by)
}

/// Asserts each user's counters equal the lengths of their lists.
async fn assert_counts_match_lists(app: &TestApp, names: &[&str]) {
    for name in names {
        let followers = app.list_usernames(&followers_of(name), None).await;
        let following = app.list_usernames(&following_of(name), None).await;
        assert_unique(&followers);
        assert_unique(&following);
        assert_eq!(
            app.follow_counts(name).await,
            (followers.len() as i64, following.len() as i64),
            "{name}: counters vs lists {followers:?} / {following:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Follow and unfollow
// ---------------------------------------------------------------------------------------

async fn following_is_204_and_idempotent(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    for _ in 0..3 {
        let response = put_follow(&app, Some(&tokens[0]), "bob").await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.text().await.unwrap().is_empty());
    }
    assert_eq!(app.follow_counts("bob").await, (1, 0));
    assert_eq!(app.follow_counts("alice").await, (0, 1));
    assert_eq!(
        app.list_usernames(MY_FOLLOWING, Some(&tokens[0])).await,
        ["bob"]
    );
    assert_eq!(
        app.list_usernames(&followers_of("bob"), None).await,
        ["alice"]
    );
    assert_eq!(
        app.list_usernames(MY_FOLLOWERS, Some(&tokens[1])).await,
        ["alice"]
    );
}

async fn a_repeated_follow_keeps_its_place_in_lists(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    app.follow(&tokens[0], "bob").await;
    app.follow(&tokens[0], "carol").await;
    app.follow(&tokens[2], "dave").await;
    app.follow(&tokens[0], "dave").await;
    app.follow(&tokens[0], "bob").await;
    app.follow(&tokens[0], "BOB").await;
    app.follow(&tokens[2], "dave").await;
    assert_eq!(
        app.list_usernames(MY_FOLLOWING, Some(&tokens[0])).await,
        ["dave", "carol", "bob"]
    );
    assert_eq!(
        app.list_usernames(&followers_of("dave"), None).await,
        ["alice", "carol"]
    );
    assert_eq!(app.follow_counts("alice").await, (0, 3));
    assert_eq!(app.follow_counts("dave").await, (2, 0));
}

async fn unfollowing_is_204_and_idempotent(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    app.follow(&tokens[0], "bob").await;
    for _ in 0..3 {
        let response = delete_follow(&app, Some(&tokens[0]), "bob").await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.text().await.unwrap().is_empty());
    }
    assert_eq!(app.follow_counts("bob").await, (0, 0));
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert!(
        app.list_usernames(MY_FOLLOWING, Some(&tokens[0]))
            .await
            .is_empty()
    );
    assert!(
        app.list_usernames(&followers_of("bob"), None)
            .await
            .is_empty()
    );

    // Unfollowing someone never followed changes nothing either (no negative counters).
    app.unfollow(&tokens[1], "alice").await;
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));
}

async fn following_again_after_unfollowing_is_the_newest_follow(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    app.follow(&tokens[0], "bob").await;
    app.follow(&tokens[0], "carol").await;
    app.unfollow(&tokens[0], "bob").await;
    assert_eq!(
        app.list_usernames(MY_FOLLOWING, Some(&tokens[0])).await,
        ["carol"]
    );
    app.follow(&tokens[0], "bob").await;
    assert_eq!(
        app.list_usernames(MY_FOLLOWING, Some(&tokens[0])).await,
        ["bob", "carol"]
    );
    assert_eq!(app.follow_counts("alice").await, (0, 2));
    assert_eq!(app.follow_counts("bob").await, (1, 0));
}

async fn following_or_unfollowing_an_unknown_user_is_404(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    for name in ["nobody", "alic", "ALICE_"] {
        let response = put_follow(&app, Some(&tokens[0]), name).await;
        assert_problem(response, 404, "not_found").await;
        let response = delete_follow(&app, Some(&tokens[0]), name).await;
        assert_problem(response, 404, "not_found").await;
    }
    assert_eq!(app.follow_counts("alice").await, (0, 0));
}

async fn following_yourself_is_422(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    for name in ["alice", "ALICE"] {
        let response = put_follow(&app, Some(&tokens[0]), name).await;
        assert_problem(response, 422, "cannot_follow_self").await;
    }
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert!(
        app.list_usernames(MY_FOLLOWING, Some(&tokens[0]))
            .await
            .is_empty()
    );
    assert!(
        app.list_usernames(MY_FOLLOWERS, Some(&tokens[0]))
            .await
            .is_empty()
    );
}

async fn follow_endpoints_need_a_token(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    app.follow(&tokens[0], "bob").await;
    let requests = [
        (Method::PUT, format!("{MY_FOLLOWING}/bob")),
        (Method::DELETE, format!("{MY_FOLLOWING}/bob")),
        (Method::GET, MY_FOLLOWING.to_owned()),
        (Method::GET, MY_FOLLOWERS.to_owned()),
    ];
    for (method, path) in requests {
        let response = app
            .request(method.clone(), &path, None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_problem(response, 401, "unauthorized").await;
        let response = app
            .request(method, &path, Some(UNKNOWN_TOKEN))
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "invalid_token").await;
    }
    assert_eq!(app.follow_counts("bob").await, (1, 0));
}

async fn follow_paths_take_usernames_in_any_case(app: TestApp) {
    let tokens = app.users(&["alice", "bob_2"]).await;
    app.follow(&tokens[0], "BOB_2").await;
    assert_eq!(
        app.list_usernames(&followers_of("Bob_2"), None).await,
        ["alice"]
    );
    assert_eq!(
        app.list_usernames(&following_of("ALICE"), None).await,
        ["bob_2"]
    );
    app.unfollow(&tokens[0], "bOb_2").await;
    assert!(
        app.list_usernames(&followers_of("bob_2"), None)
            .await
            .is_empty()
    );
}

both_databases!(
    following_is_204_and_idempotent,
    a_repeated_follow_keeps_its_place_in_lists,
    unfollowing_is_204_and_idempotent,
    following_again_after_unfollowing_is_the_newest_follow,
    following_or_unfollowing_an_unknown_user_is_404,
    following_yourself_is_422,
    follow_endpoints_need_a_token,
    follow_paths_take_usernames_in_any_case,
);

// ---------------------------------------------------------------------------------------
// Counters and lists
// ---------------------------------------------------------------------------------------

async fn counters_are_exact_on_both_sides(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    app.follow(alice, "bob").await;
    app.follow(alice, "carol").await;
    app.follow(bob, "alice").await;
    app.follow(carol, "bob").await;
    app.follow(dave, "bob").await;
    let expected = [
        ("alice", 1, 2),
        ("bob", 3, 1),
        ("carol", 1, 1),
        ("dave", 0, 1),
    ];
    for (name, followers, following) in expected {
        assert_eq!(
            app.follow_counts(name).await,
            (followers, following),
            "{name}"
        );
    }
    for (token, (name, followers, following)) in tokens.iter().zip(expected) {
        let me = app.get_ok("/api/v1/me", Some(token)).await;
        assert_eq!(me["followers_count"], followers, "{name}");
        assert_eq!(me["following_count"], following, "{name}");
    }
    // The counters in list entries agree too.
    let page = app.get_ok(&followers_of("bob"), None).await;
    for user in page["items"].as_array().unwrap() {
        let (_, followers, following) = expected
            .iter()
            .find(|(name, _, _)| user["username"] == *name)
            .unwrap();
        assert_eq!(user["followers_count"], *followers, "{user}");
        assert_eq!(user["following_count"], *following, "{user}");
    }

    app.unfollow(alice, "bob").await;
    app.unfollow(dave, "bob").await;
    assert_eq!(app.follow_counts("bob").await, (1, 1));
    assert_eq!(app.follow_counts("alice").await, (1, 1));
    assert_eq!(app.follow_counts("dave").await, (0, 0));
    assert_counts_match_lists(&app, &["alice", "bob", "carol", "dave"]).await;
}

async fn follow_lists_are_most_recent_follow_first(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    // bob gains followers in the order carol, alice, dave.
    app.follow(carol, "bob").await;
    app.follow(alice, "dave").await;
    app.follow(alice, "bob").await;
    app.follow(dave, "bob").await;
    app.follow(alice, "carol").await;

    let bob_followers = ["dave", "alice", "carol"];
    assert_eq!(
        app.list_usernames(&followers_of("bob"), None).await,
        bob_followers
    );
    assert_eq!(
        app.list_usernames(MY_FOLLOWERS, Some(bob)).await,
        bob_followers
    );
    // alice followed dave, bob, carol in that order.
    let alice_following = ["carol", "bob", "dave"];
    assert_eq!(
        app.list_usernames(&following_of("alice"), None).await,
        alice_following
    );
    assert_eq!(
        app.list_usernames(MY_FOLLOWING, Some(alice)).await,
        alice_following
    );

    assert!(
        app.list_usernames(&following_of("bob"), None)
            .await
            .is_empty()
    );
    assert_eq!(
        app.list_usernames(&followers_of("dave"), None).await,
        ["alice"]
    );
    assert_eq!(
        app.list_usernames(&following_of("dave"), Some(bob)).await,
        ["bob"]
    );
}

async fn follow_lists_carry_viewer_relations(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(alice, "bob").await;
    app.follow(alice, "carol").await;
    app.follow(bob, "alice").await;
    app.follow(carol, "bob").await;
    app.follow(alice, "dave").await;

    let path = following_of("alice");
    let anonymous = app.get_ok(&path, None).await;
    assert_eq!(
        relations(&anonymous),
        [
            rel("dave", Value::Null, Value::Null),
            rel("carol", Value::Null, Value::Null),
            rel("bob", Value::Null, Value::Null),
        ]
    );
    // bob sees himself with null relations; carol follows him, he does not follow her.
    let seen_by_bob = app.get_ok(&path, Some(bob)).await;
    assert_eq!(
        relations(&seen_by_bob),
        [
            rel("dave", json!(false), json!(false)),
            rel("carol", json!(false), json!(true)),
            rel("bob", Value::Null, Value::Null),
        ]
    );
    let mine = app.get_ok(MY_FOLLOWING, Some(alice)).await;
    assert_eq!(
        relations(&mine),
        [
            rel("dave", json!(true), json!(false)),
            rel("carol", json!(true), json!(false)),
            rel("bob", json!(true), json!(true)),
        ]
    );
    let my_followers = app.get_ok(MY_FOLLOWERS, Some(bob)).await;
    assert_eq!(
        relations(&my_followers),
        [
            rel("carol", json!(false), json!(true)),
            rel("alice", json!(true), json!(true)),
        ]
    );
    let bobs_followers_seen_by_carol = app.get_ok(&followers_of("bob"), Some(carol)).await;
    assert_eq!(
        relations(&bobs_followers_seen_by_carol),
        [
            rel("carol", Value::Null, Value::Null),
            rel("alice", json!(false), json!(true)),
        ]
    );
    for user in my_followers["items"].as_array().unwrap() {
        assert!(user.get("email").is_none(), "no email in lists: {user}");
    }
}

async fn follow_lists_of_an_unknown_user_are_404(app: TestApp) {
    app.users(&["alice"]).await;
    for path in [followers_of("nobody"), following_of("nobody")] {
        assert_problem(app.get(&path, None).await, 404, "not_found").await;
    }
}

both_databases!(
    counters_are_exact_on_both_sides,
    follow_lists_are_most_recent_follow_first,
    follow_lists_carry_viewer_relations,
    follow_lists_of_an_unknown_user_are_404,
);

// ---------------------------------------------------------------------------------------
// Pagination of follow lists
// ---------------------------------------------------------------------------------------

async fn follow_lists_refuse_bad_limits_and_cursors(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    app.follow(&tokens[1], "alice").await;
    app.follow(&tokens[2], "alice").await;
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let paths = [
        MY_FOLLOWERS.to_owned(),
        MY_FOLLOWING.to_owned(),
        followers_of("alice"),
        following_of("alice"),
    ];
    for path in &paths {
        for limit in ["0", "101", "-1", "abc"] {
            let response = app
                .get(&format!("{path}?limit={limit}"), Some(&tokens[0]))
                .await;
            assert_problem(response, 400, "invalid_limit").await;
        }
        for cursor in [
            "garbage".to_owned(),
            b64("garbage"),
            b64("1|not-a-uuid"),
            b64("1|0|alice"),
        ] {
            let response = app
                .get(&format!("{path}?cursor={cursor}"), Some(&tokens[0]))
                .await;
            assert_problem(response, 400, "invalid_cursor").await;
        }
    }
}

async fn walking_a_follow_list_returns_each_user_once(app: TestApp) {
    let names = ["target", "fol1", "fol2", "fol3", "fol4", "fol5"];
    let tokens = app.users(&names).await;
    for token in &tokens[1..] {
        app.follow(token, "target").await;
    }
    let expected = [
        vec!["fol5".to_owned(), "fol4".to_owned()],
        vec!["fol3".to_owned(), "fol2".to_owned()],
        vec!["fol1".to_owned()],
    ];
    let pages = app
        .walk(
            &format!("{}?limit=2", followers_of("target")),
            None,
            2,
            usernames,
        )
        .await;
    assert_eq!(pages, expected);
    let pages = app
        .walk(
            &format!("{MY_FOLLOWERS}?limit=2"),
            Some(&tokens[0]),
            2,
            usernames,
        )
        .await;
    assert_eq!(
        pages, expected,
        "the Link of /me lists works with the token"
    );
    // The cursor of one list positions the same way when passed by hand.
    let first = app
        .get_ok(&format!("{}?limit=2", followers_of("target")), None)
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("{}?limit=2&cursor={cursor}", followers_of("target")),
            None,
        )
        .await;
    assert_eq!(usernames(&second), ["fol3", "fol2"]);
}

async fn a_follow_list_walk_stays_correct_while_follows_change(app: TestApp) {
    let names = ["target", "fol1", "fol2", "fol3", "fol4", "fol5", "late"];
    let tokens = app.users(&names).await;
    for token in &tokens[1..6] {
        app.follow(token, "target").await;
    }
    let path = app.url(&format!("{}?limit=2", followers_of("target")));
    let first = app.fetch_page(&path, None).await;
    assert_eq!(first.usernames(), ["fol5", "fol4"]);
    // Between pages: a new follower, and one already seen unfollows and follows again.
    app.follow(&tokens[6], "target").await;
    app.unfollow(&tokens[5], "target").await;
    app.follow(&tokens[5], "target").await;
    let second = app.fetch_page(&first.next.unwrap(), None).await;
    assert_eq!(second.usernames(), ["fol3", "fol2"]);
    app.follow(&tokens[4], "fol1").await;
    let third = app.fetch_page(&second.next.unwrap(), None).await;
    assert_eq!(third.usernames(), ["fol1"]);
    assert!(third.next.is_none());
    assert_eq!(
        app.list_usernames(&followers_of("target"), None).await,
        ["fol5", "late", "fol4", "fol3", "fol2", "fol1"]
    );
}

both_databases!(
    follow_lists_refuse_bad_limits_and_cursors,
    walking_a_follow_list_returns_each_user_once,
    a_follow_list_walk_stays_correct_while_follows_change,
);

// ---------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------

async fn twenty_parallel_followers_are_all_counted(app: TestApp) {
    let target = app.user("target").await;
    let mut names = Vec::new();
    let mut requests = Vec::new();
    for i in 0..20 {
        let name = format!("fan_{i:02}");
        let token = app.user(&name).await;
        requests.push((
            Method::PUT,
            app.url(&format!("{MY_FOLLOWING}/target")),
            token,
        ));
        names.push(name);
    }
    assert_all_204(&app.in_parallel(requests).await);
    assert_eq!(app.follow_counts("target").await, (20, 0));
    let mut followers = app.list_usernames(MY_FOLLOWERS, Some(&target)).await;
    followers.sort();
    assert_eq!(followers, names);
    for name in &names {
        assert_eq!(app.follow_counts(name).await, (0, 1), "{name}");
    }
}

async fn one_user_following_twenty_times_at_once_follows_once(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let url = app.url(&format!("{MY_FOLLOWING}/bob"));
    let requests = (0..20)
        .map(|_| (Method::PUT, url.clone(), tokens[0].clone()))
        .collect();
    assert_all_204(&app.in_parallel(requests).await);
    assert_eq!(app.follow_counts("bob").await, (1, 0));
    assert_eq!(app.follow_counts("alice").await, (0, 1));
    assert_eq!(
        app.list_usernames(&followers_of("bob"), None).await,
        ["alice"]
    );
    assert_eq!(
        app.list_usernames(MY_FOLLOWING, Some(&tokens[0])).await,
        ["bob"]
    );

    let requests = (0..20)
        .map(|_| (Method::DELETE, url.clone(), tokens[0].clone()))
        .collect();
    assert_all_204(&app.in_parallel(requests).await);
    assert_eq!(app.follow_counts("bob").await, (0, 0));
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert!(
        app.list_usernames(&followers_of("bob"), None)
            .await
            .is_empty()
    );
}

async fn a_storm_of_follows_and_unfollows_leaves_counters_equal_to_lists(app: TestApp) {
    let names = ["st0", "st1", "st2", "st3", "st4", "st5"];
    let tokens = app.users(&names).await;
    let mut expected = vec![vec![false; names.len()]; names.len()];
    for round in 0..4 {
        let last = round == 3;
        let mut requests = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            for (j, name) in names.iter().enumerate() {
                if i == j {
                    continue;
                }
                let url = app.url(&format!("{MY_FOLLOWING}/{name}"));
                let follows = (i + 2 * j + round) % 3 != 0;
                let (method, opposite) = if follows {
                    (Method::PUT, Method::DELETE)
                } else {
                    (Method::DELETE, Method::PUT)
                };
                // Each decided request twice; in the early rounds some pairs also race
                // against the opposite request.
                requests.push((method.clone(), url.clone(), token.clone()));
                requests.push((method, url.clone(), token.clone()));
                if !last && (i + j + round) % 4 == 0 {
                    requests.push((opposite, url, token.clone()));
                }
                expected[i][j] = follows;
            }
        }
        assert_all_204(&app.in_parallel(requests).await);
    }
    assert_counts_match_lists(&app, &names).await;
    for (i, name) in names.iter().enumerate() {
        let mut following = app.list_usernames(&following_of(name), None).await;
        following.sort();
        let wanted: Vec<String> = names
            .iter()
            .enumerate()
            .filter(|(j, _)| expected[i][*j])
            .map(|(_, other)| (*other).to_owned())
            .collect();
        assert_eq!(following, wanted, "{name} follows");
    }
}

async fn two_users_following_each_other_at_once_never_fail(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let alice_to_bob = app.url(&format!("{MY_FOLLOWING}/bob"));
    let bob_to_alice = app.url(&format!("{MY_FOLLOWING}/alice"));
    for round in 0..5 {
        for method in [Method::PUT, Method::DELETE] {
            let mut requests = Vec::new();
            for _ in 0..3 {
                requests.push((method.clone(), alice_to_bob.clone(), tokens[0].clone()));
                requests.push((method.clone(), bob_to_alice.clone(), tokens[1].clone()));
            }
            let statuses = app.in_parallel(requests).await;
            assert!(
                statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
                "round {round}, {method}: {statuses:?}"
            );
            let expected = if method == Method::PUT { 1 } else { 0 };
            assert_eq!(app.follow_counts("alice").await, (expected, expected));
            assert_eq!(app.follow_counts("bob").await, (expected, expected));
        }
    }
}

/// Sends `requests` (method, URL, token) together with `DELETE /me` for `doomed`; asserts
/// the deletion is a 204 and returns the other requests' statuses.
async fn race_with_deletion(
    app: &TestApp,
    doomed: &str,
    requests: Vec<(Method, String, String)>,
) -> Vec<(Method, StatusCode)> {
    let mut set = JoinSet::new();
    for (method, url, token) in requests {
        let client = app.client.clone();
        set.spawn(async move {
            let response = client
                .request(method.clone(), url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (Some(method), response.status())
        });
    }
    let client = app.client.clone();
    let url = app.url("/api/v1/me");
    let doomed = doomed.to_owned();
    set.spawn(async move {
        let response = client
            .delete(url)
            .bearer_auth(doomed)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await
            .unwrap();
        (None, response.status())
    });
    let mut statuses = Vec::new();
    while let Some(result) = set.join_next().await {
        match result.unwrap() {
            (None, status) => assert_eq!(status, StatusCode::NO_CONTENT, "the deletion"),
            (Some(method), status) => statuses.push((method, status)),
        }
    }
    statuses
}

async fn following_or_unfollowing_an_account_while_it_is_deleted_never_fails(app: TestApp) {
    let fans = ["fan_a", "fan_b", "fan_c", "fan_d", "fan_e", "fan_f"];
    let fan_tokens = app.users(&fans).await;
    for round in 0..3 {
        let name = format!("doomed_{round}");
        let doomed = app.user(&name).await;
        // Half the fans follow already and unfollow while the account goes; the other
        // half follow it at that moment.
        for token in &fan_tokens[..3] {
            app.follow(token, &name).await;
        }
        let url = app.url(&format!("{MY_FOLLOWING}/{name}"));
        let requests = fan_tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let method = if i < 3 { Method::DELETE } else { Method::PUT };
                (method, url.clone(), token.clone())
            })
            .collect();
        for (method, status) in race_with_deletion(&app, &doomed, requests).await {
            assert!(
                status == StatusCode::NO_CONTENT || status == StatusCode::NOT_FOUND,
                "round {round}: {method} racing the deletion got {status}"
            );
        }
        assert_problem(
            app.get(&format!("/api/v1/users/{name}"), None).await,
            404,
            "not_found",
        )
        .await;
    }
    assert_counts_match_lists(&app, &fans).await;
    for fan in fans {
        assert_eq!(app.follow_counts(fan).await, (0, 0), "{fan}");
    }
}

async fn an_accounts_own_follows_racing_its_deletion_never_fail(app: TestApp) {
    let idols = ["idol_a", "idol_b", "idol_c", "idol_d"];
    app.users(&idols).await;
    for round in 0..3 {
        let doomed = app.user(&format!("leaver_{round}")).await;
        app.follow(&doomed, "idol_a").await;
        app.follow(&doomed, "idol_b").await;
        let requests = idols
            .iter()
            .enumerate()
            .map(|(i, idol)| {
                let method = if i < 2 { Method::DELETE } else { Method::PUT };
                (
                    method,
                    app.url(&format!("{MY_FOLLOWING}/{idol}")),
                    doomed.clone(),
                )
            })
            .collect();
        for (method, status) in race_with_deletion(&app, &doomed, requests).await {
            assert!(
                matches!(status.as_u16(), 204 | 401 | 404),
                "round {round}: the account's own {method} racing its deletion got {status}"
            );
        }
    }
    assert_counts_match_lists(&app, &idols).await;
    for idol in idols {
        assert_eq!(app.follow_counts(idol).await, (0, 0), "{idol}");
    }
}

both_databases!(
    twenty_parallel_followers_are_all_counted,
    one_user_following_twenty_times_at_once_follows_once,
    a_storm_of_follows_and_unfollows_leaves_counters_equal_to_lists,
    two_users_following_each_other_at_once_never_fail,
    following_or_unfollowing_an_account_while_it_is_deleted_never_fails,
    an_accounts_own_follows_racing_its_deletion_never_fail,
);
