//! Likes: like and unlike (idempotent 204s), `like_count` and `liked` on posts, the likers
//! of a post and "posts I liked", their pagination, and likes under concurrency.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{
    TestApp, UNKNOWN_ID, UNKNOWN_TOKEN, assert_all_204, assert_problem, id_of, ids, post_path,
    usernames,
};

const MY_LIKES: &str = "/api/v1/me/likes";

fn like_path(post: &str) -> String {
    format!("{}/like", post_path(post))
}

fn likers_path(post: &str) -> String {
    format!("{}/likes", post_path(post))
}

async fn put_like(app: &TestApp, token: Option<&str>, post: &str) -> Response {
    app.request(Method::PUT, &like_path(post), token)
        .send()
        .await
        .unwrap()
}

async fn delete_like(app: &TestApp, token: Option<&str>, post: &str) -> Response {
    app.request(Method::DELETE, &like_path(post), token)
        .send()
        .await
        .unwrap()
}

/// The post as `token` sees it.
async fn get_post(app: &TestApp, post: &str, token: Option<&str>) -> Value {
    app.get_ok(&post_path(post), token).await
}

async fn like_count(app: &TestApp, post: &str) -> i64 {
    get_post(app, post, None).await["like_count"]
        .as_i64()
        .unwrap()
}

async fn my_likes(app: &TestApp, token: &str) -> Vec<String> {
    ids(&app
        .get_ok(&format!("{MY_LIKES}?limit=100"), Some(token))
        .await)
}

// ---------------------------------------------------------------------------------------
// Like and unlike
// ---------------------------------------------------------------------------------------

async fn liking_is_204_and_idempotent(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    assert_eq!(like_count(&app, &post).await, 0);
    for _ in 0..3 {
        app.like(&tokens[1], &post).await;
    }
    assert_eq!(like_count(&app, &post).await, 1);
    assert_eq!(app.list_usernames(&likers_path(&post), None).await, ["bob"]);
    assert_eq!(my_likes(&app, &tokens[1]).await, [post.as_str()]);
    // Liking your own post is allowed.
    app.like(&tokens[0], &post).await;
    assert_eq!(like_count(&app, &post).await, 2);
}

async fn unliking_is_204_and_idempotent(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    app.like(&tokens[1], &post).await;
    for _ in 0..3 {
        app.unlike(&tokens[1], &post).await;
    }
    assert_eq!(like_count(&app, &post).await, 0);
    assert!(
        app.list_usernames(&likers_path(&post), None)
            .await
            .is_empty()
    );
    assert!(my_likes(&app, &tokens[1]).await.is_empty());
    // Unliking a post never liked is a 204 too, and changes nothing.
    app.like(&tokens[1], &post).await;
    app.unlike(&tokens[0], &post).await;
    assert_eq!(like_count(&app, &post).await, 1);
}

async fn a_repeated_like_keeps_its_place_in_lists(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let first = id_of(&app.create_post(&tokens[0], "first").await);
    let second = id_of(&app.create_post(&tokens[0], "second").await);
    app.like(&tokens[1], &first).await;
    app.like(&tokens[2], &first).await;
    app.like(&tokens[1], &second).await;
    app.like(&tokens[1], &first).await;
    assert_eq!(
        my_likes(&app, &tokens[1]).await,
        [second.clone(), first.clone()]
    );
    assert_eq!(
        app.list_usernames(&likers_path(&first), None).await,
        ["carol", "bob"]
    );
    assert_eq!(like_count(&app, &first).await, 2);
}

async fn liking_again_after_unliking_is_the_newest_like(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let mut posts = Vec::new();
    for content in ["one", "two", "three"] {
        posts.push(id_of(&app.create_post(&tokens[0], content).await));
    }
    // Liked in the order two, three, one: most recently liked first.
    app.like(&tokens[1], &posts[1]).await;
    app.like(&tokens[1], &posts[2]).await;
    app.like(&tokens[1], &posts[0]).await;
    assert_eq!(
        my_likes(&app, &tokens[1]).await,
        [posts[0].clone(), posts[2].clone(), posts[1].clone()]
    );
    app.unlike(&tokens[1], &posts[2]).await;
    assert_eq!(
        my_likes(&app, &tokens[1]).await,
        [posts[0].clone(), posts[1].clone()]
    );
    app.like(&tokens[1], &posts[2]).await;
    assert_eq!(
        my_likes(&app, &tokens[1]).await,
        [posts[2].clone(), posts[0].clone(), posts[1].clone()]
    );
    // The author's own list is separate.
    assert!(my_likes(&app, &tokens[0]).await.is_empty());
}

async fn liking_an_unknown_post_is_404(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    for id in [
        UNKNOWN_ID,
        "nope",
        "12345",
        "019acc02-0a4d-7e61-9c3b-55e0f2d8a91",
    ] {
        assert_problem(put_like(&app, Some(&tokens[0]), id).await, 404, "not_found").await;
        assert_problem(
            delete_like(&app, Some(&tokens[0]), id).await,
            404,
            "not_found",
        )
        .await;
        assert_problem(app.get(&likers_path(id), None).await, 404, "not_found").await;
    }
    assert!(my_likes(&app, &tokens[0]).await.is_empty());
    assert_eq!(like_count(&app, &post).await, 0);
}

async fn like_endpoints_need_a_token(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    app.like(&tokens[1], &post).await;
    for method in [Method::PUT, Method::DELETE] {
        let response = app
            .request(method.clone(), &like_path(&post), None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_problem(response, 401, "unauthorized").await;
        let response = app
            .request(method, &like_path(&post), Some(UNKNOWN_TOKEN))
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "invalid_token").await;
    }
    // The likers are public, but a dead token is still refused.
    assert_eq!(app.list_usernames(&likers_path(&post), None).await, ["bob"]);
    let response = app.get(&likers_path(&post), Some(UNKNOWN_TOKEN)).await;
    assert_problem(response, 401, "invalid_token").await;
    assert_problem(app.get(MY_LIKES, None).await, 401, "unauthorized").await;
    assert_eq!(like_count(&app, &post).await, 1);
}

both_databases!(
    liking_is_204_and_idempotent,
    unliking_is_204_and_idempotent,
    a_repeated_like_keeps_its_place_in_lists,
    liking_again_after_unliking_is_the_newest_like,
    liking_an_unknown_post_is_404,
    like_endpoints_need_a_token,
);

// ---------------------------------------------------------------------------------------
// What posts and lists show
// ---------------------------------------------------------------------------------------

async fn liked_is_true_false_or_null_by_viewer(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello #world").await);
    app.like(&tokens[1], &post).await;
    assert_eq!(get_post(&app, &post, Some(&tokens[1])).await["liked"], true);
    assert_eq!(
        get_post(&app, &post, Some(&tokens[2])).await["liked"],
        false
    );
    assert_eq!(
        get_post(&app, &post, Some(&tokens[0])).await["liked"],
        false
    );
    assert_eq!(get_post(&app, &post, None).await["liked"], Value::Null);
    // The same in lists.
    for (token, liked) in [
        (Some(&tokens[1]), json!(true)),
        (Some(&tokens[2]), json!(false)),
        (None, Value::Null),
    ] {
        for path in ["/api/v1/posts", "/api/v1/tags/world/posts"] {
            let page = app.get_ok(path, token.map(String::as_str)).await;
            assert_eq!(page["items"][0]["id"], post.as_str());
            assert_eq!(page["items"][0]["liked"], liked, "{path}");
            assert_eq!(page["items"][0]["like_count"], 1, "{path}");
        }
    }
    let mine = app.get_ok(MY_LIKES, Some(&tokens[1])).await;
    assert_eq!(mine["items"][0]["liked"], true);
    app.unlike(&tokens[1], &post).await;
    let seen = get_post(&app, &post, Some(&tokens[1])).await;
    assert_eq!(seen["liked"], false);
    assert_eq!(seen["like_count"], 0);
}

async fn likers_are_most_recent_first_with_viewer_relations(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(alice, "Hello").await);
    app.like(bob, &post).await;
    app.like(carol, &post).await;
    app.follow(alice, "bob").await;
    app.follow(carol, "alice").await;

    let path = likers_path(&post);
    let anonymous = app.get_ok(&path, None).await;
    assert_eq!(usernames(&anonymous), ["carol", "bob"]);
    for user in anonymous["items"].as_array().unwrap() {
        assert_eq!(user["following"], Value::Null, "{user}");
        assert_eq!(user["followed_by"], Value::Null, "{user}");
        assert!(user.get("email").is_none(), "no email in lists: {user}");
        assert!(user["created_at"].is_string() && user["posts_count"].is_i64());
    }
    let seen_by_alice = app.get_ok(&path, Some(alice)).await;
    let items = &seen_by_alice["items"];
    assert_eq!(
        (&items[0]["following"], &items[0]["followed_by"]),
        (&json!(false), &json!(true)),
        "carol follows alice"
    );
    assert_eq!(
        (&items[1]["following"], &items[1]["followed_by"]),
        (&json!(true), &json!(false)),
        "alice follows bob"
    );
    let seen_by_bob = app.get_ok(&path, Some(bob)).await;
    assert_eq!(seen_by_bob["items"][1]["username"], "bob");
    assert_eq!(seen_by_bob["items"][1]["following"], Value::Null);
}

async fn deleting_a_post_removes_its_likes(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let doomed = id_of(&app.create_post(&tokens[0], "doomed").await);
    let kept = id_of(&app.create_post(&tokens[0], "kept").await);
    app.like(&tokens[1], &doomed).await;
    app.like(&tokens[1], &kept).await;
    app.delete_post(&tokens[0], &doomed).await;
    assert_eq!(my_likes(&app, &tokens[1]).await, [kept]);
    assert_problem(app.get(&likers_path(&doomed), None).await, 404, "not_found").await;
    assert_problem(
        put_like(&app, Some(&tokens[1]), &doomed).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        delete_like(&app, Some(&tokens[1]), &doomed).await,
        404,
        "not_found",
    )
    .await;
}

async fn deleting_an_account_removes_its_likes(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    app.like(&tokens[1], &post).await;
    app.like(&tokens[2], &post).await;
    app.delete_account(&tokens[1]).await;
    assert_eq!(like_count(&app, &post).await, 1);
    assert_eq!(
        app.list_usernames(&likers_path(&post), None).await,
        ["carol"]
    );
}

both_databases!(
    liked_is_true_false_or_null_by_viewer,
    likers_are_most_recent_first_with_viewer_relations,
    deleting_a_post_removes_its_likes,
    deleting_an_account_removes_its_likes,
);

// ---------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------

async fn walking_the_likers_returns_each_user_once(app: TestApp) {
    let names = ["author", "fan1", "fan2", "fan3", "fan4", "fan5"];
    let tokens = app.users(&names).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    for token in &tokens[1..] {
        app.like(token, &post).await;
    }
    let expected = [
        vec!["fan5".to_owned(), "fan4".to_owned()],
        vec!["fan3".to_owned(), "fan2".to_owned()],
        vec!["fan1".to_owned()],
    ];
    let path = format!("{}?limit=2", likers_path(&post));
    assert_eq!(app.walk(&path, None, 2, usernames).await, expected);
    assert_eq!(
        app.walk(&path, Some(&tokens[0]), 2, usernames).await,
        expected
    );

    // A like arriving mid-walk (here: a repeat, and a new one) does not disturb it.
    let first = app.get_ok(&path, None).await;
    app.like(&tokens[3], &post).await;
    let late = app.user("late").await;
    app.like(&late, &post).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app.get_ok(&format!("{path}&cursor={cursor}"), None).await;
    assert_eq!(usernames(&second), ["fan3", "fan2"]);
}

async fn walking_my_likes_returns_each_post_once(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let mut posts = Vec::new();
    for i in 0..5 {
        posts.push(id_of(
            &app.create_post(&tokens[0], &format!("post {i}")).await,
        ));
    }
    // Liked in reverse order of creation: the list is then oldest post first.
    for post in posts.iter().rev() {
        app.like(&tokens[1], post).await;
    }
    let mut seen = Vec::new();
    let mut path = format!("{MY_LIKES}?limit=2");
    loop {
        let page = app.get_ok(&path, Some(&tokens[1])).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{MY_LIKES}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, posts);
}

async fn likers_refuse_bad_limits_and_cursors(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    app.like(&tokens[0], &post).await;
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let path = likers_path(&post);
    for limit in ["0", "101", "-1", "abc"] {
        let response = app.get(&format!("{path}?limit={limit}"), None).await;
        assert_problem(response, 400, "invalid_limit").await;
    }
    for cursor in [
        "garbage".to_owned(),
        b64("garbage"),
        b64("1|not-a-uuid"),
        b64("1|0|alice"),
    ] {
        let response = app.get(&format!("{path}?cursor={cursor}"), None).await;
        assert_problem(response, 400, "invalid_cursor").await;
    }
}

both_databases!(
    walking_the_likers_returns_each_user_once,
    walking_my_likes_returns_each_post_once,
    likers_refuse_bad_limits_and_cursors,
);

// ---------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------

async fn one_user_liking_twenty_times_at_once_likes_once(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let url = app.url(&like_path(&post));
    let requests = (0..20)
        .map(|_| (Method::PUT, url.clone(), tokens[1].clone()))
        .collect();
    assert_all_204(&app.in_parallel(requests).await);
    assert_eq!(like_count(&app, &post).await, 1);
    assert_eq!(app.list_usernames(&likers_path(&post), None).await, ["bob"]);
    assert_eq!(my_likes(&app, &tokens[1]).await, [post.as_str()]);

    let requests = (0..20)
        .map(|_| (Method::DELETE, url.clone(), tokens[1].clone()))
        .collect();
    assert_all_204(&app.in_parallel(requests).await);
    assert_eq!(like_count(&app, &post).await, 0);
    assert!(my_likes(&app, &tokens[1]).await.is_empty());
}

async fn twenty_users_liking_at_once_are_all_counted(app: TestApp) {
    let author = app.user("author").await;
    let post = id_of(&app.create_post(&author, "Hello").await);
    let url = app.url(&like_path(&post));
    let mut names = Vec::new();
    let mut requests = Vec::new();
    for i in 0..20 {
        let name = format!("fan_{i:02}");
        requests.push((Method::PUT, url.clone(), app.user(&name).await));
        names.push(name);
    }
    assert_all_204(&app.in_parallel(requests).await);
    assert_eq!(like_count(&app, &post).await, 20);
    let mut likers = app.list_usernames(&likers_path(&post), None).await;
    likers.sort();
    assert_eq!(likers, names);
}

async fn likes_racing_the_posts_deletion_never_fail(app: TestApp) {
    let names = [
        "author", "fan_a", "fan_b", "fan_c", "fan_d", "fan_e", "fan_f",
    ];
    let tokens = app.users(&names).await;
    for round in 0..3 {
        let post = id_of(&app.create_post(&tokens[0], &format!("round {round}")).await);
        // Half the fans like already and unlike as the post goes; the others like it then.
        for token in &tokens[1..4] {
            app.like(token, &post).await;
        }
        let url = app.url(&like_path(&post));
        let mut requests: Vec<(Method, String, String)> = tokens[1..]
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let method = if i < 3 { Method::DELETE } else { Method::PUT };
                (method, url.clone(), token.clone())
            })
            .collect();
        requests.insert(
            3,
            (
                Method::DELETE,
                app.url(&post_path(&post)),
                tokens[0].clone(),
            ),
        );
        for status in app.in_parallel(requests).await {
            assert!(
                status == StatusCode::NO_CONTENT || status == StatusCode::NOT_FOUND,
                "round {round}: a request racing the deletion got {status}"
            );
        }
        assert_problem(app.get(&post_path(&post), None).await, 404, "not_found").await;
    }
    for token in &tokens {
        assert!(my_likes(&app, token).await.is_empty());
    }
}

both_databases!(
    one_user_liking_twenty_times_at_once_likes_once,
    twenty_users_liking_at_once_are_all_counted,
    likes_racing_the_posts_deletion_never_fail,
);
