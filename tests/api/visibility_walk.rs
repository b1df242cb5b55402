//! No read path bypasses the visibility rule. Each scenario hides one post P from one
//! viewer — anonymous or a non-follower (P followers-only, or its author locked), an
//! account the author blocks, an account that blocks the author, an account that mutes
//! the author — and walks every read endpoint as that viewer: P is a 404 by id (its likes
//! and comments too) and absent from every list, or the author's post list is the 403 the
//! contract names. A follower who liked and commented on P walks the same endpoints and
//! finds it everywhere, so no scenario can pass by finding nothing at all.
//!
//! For blocks, the two accounts are also walked through every user list: neither finds the
//! other in search, the user list, follower and following lists or likers.

use crate::both_databases;
use crate::helpers::{POSTS, TestApp, assert_problem, id_of, ids, post_path, usernames};
use crate::privacy_steps::{
    FEED, MY_LIKES, USERS, comment_path, comments_path, followers_of, following_of, likers_path,
    posts_with, user_posts,
};

const WORD: &str = "walkabout";
const TAG: &str = "trail";

/// The accounts of a scene: `author` wrote P; `friend` follows the author, liked P and
/// commented on it; `viewer` is the one P gets hidden from; `other` wrote Q, a public
/// post in the same lists, on which the author commented.
struct Scene {
    author: String,
    friend: String,
    viewer: String,
    other: String,
    /// P.
    post: String,
    /// The friend's comment on P.
    comment: String,
    /// Q, by `other`.
    other_post: String,
    /// The author's comment on Q.
    author_comment: String,
}

/// Sets a scene up with P written with `visibility`; P is still visible to the viewer when
/// it is public.
async fn scene(app: &TestApp, visibility: &str) -> Scene {
    let author = app.user("author").await;
    let friend = app.user("friend").await;
    let viewer = app.user("viewer").await;
    let other = app.user("other").await;
    app.follow(&friend, "author").await;
    let other_post = id_of(
        &app.create_post(&other, &format!("other {WORD} #{TAG}"))
            .await,
    );
    let post = id_of(
        &app.create_post_as(&author, &format!("hidden {WORD} #{TAG}"), visibility)
            .await,
    );
    app.like(&friend, &post).await;
    let comment = id_of(&app.comment(&friend, &post, "friend was here").await);
    let author_comment = id_of(&app.comment(&author, &other_post, "author chimes in").await);
    Scene {
        author,
        friend,
        viewer,
        other,
        post,
        comment,
        other_post,
        author_comment,
    }
}

/// How `/users/author/posts` answers a viewer from whom P is hidden.
#[derive(Clone, Copy, Debug)]
enum AuthorPosts {
    /// 200, without P.
    Listed,
    /// 403 with this code.
    Refused(&'static str),
}

/// Every list P belongs to that a reader with or without a token can read; `/me/likes`
/// when the reader liked P.
fn post_lists(signed_in: bool, liked: bool) -> Vec<String> {
    let mut lists = vec![
        POSTS.to_owned(),
        posts_with("q", WORD),
        posts_with("tag", TAG),
        posts_with("author", "author"),
        format!("/api/v1/tags/{TAG}/posts"),
    ];
    if signed_in {
        lists.push(FEED.to_owned());
    }
    if liked {
        lists.push(MY_LIKES.to_owned());
    }
    lists
}

/// P and everything hanging off it are hidden from `viewer` on every read endpoint.
async fn assert_hidden_everywhere(
    app: &TestApp,
    scene: &Scene,
    viewer: Option<&str>,
    author_posts: AuthorPosts,
    liked: bool,
) {
    let who = if viewer.is_some() {
        "the viewer"
    } else {
        "anonymous"
    };
    for path in [
        post_path(&scene.post),
        likers_path(&scene.post),
        comments_path(&scene.post),
        comment_path(&scene.comment),
    ] {
        let response = app.get(&path, viewer).await;
        assert_eq!(response.status(), 404, "{who}: GET {path}");
        assert_problem(response, 404, "not_found").await;
    }
    for path in post_lists(viewer.is_some(), liked) {
        let found = app.list_ids(&path, viewer).await;
        assert!(
            !found.contains(&scene.post),
            "{who}: {path} lists the hidden post"
        );
    }
    let path = user_posts("author");
    match author_posts {
        AuthorPosts::Listed => {
            let found = app.list_ids(&path, viewer).await;
            assert!(
                !found.contains(&scene.post),
                "{who}: {path} lists the hidden post"
            );
        }
        AuthorPosts::Refused(code) => {
            assert_problem(app.get(&path, viewer).await, 403, code).await;
        }
    }
}

/// The positive control: the friend (a follower who liked P and commented on it) finds P
/// through every endpoint the hidden walk reads.
async fn assert_friend_sees_everything(app: &TestApp, scene: &Scene) {
    let friend = Some(scene.friend.as_str());
    assert_eq!(
        app.get_ok(&post_path(&scene.post), friend).await["id"],
        scene.post.as_str()
    );
    let likers = usernames(&app.get_ok(&likers_path(&scene.post), friend).await);
    assert!(
        likers.iter().any(|name| name == "friend"),
        "the friend: P's likers {likers:?}"
    );
    assert_eq!(
        ids(&app.get_ok(&comments_path(&scene.post), friend).await),
        [scene.comment.as_str()]
    );
    assert_eq!(
        app.get_ok(&comment_path(&scene.comment), friend).await["post_id"],
        scene.post.as_str()
    );
    let mut lists = post_lists(true, true);
    lists.push(user_posts("author"));
    for path in lists {
        let found = app.list_ids(&path, friend).await;
        assert!(found.contains(&scene.post), "the friend: {path} lists P");
    }
    // The author always sees it too.
    app.get_ok(&post_path(&scene.post), Some(&scene.author))
        .await;
}

/// The author's comment on Q is hidden from `viewer` (blocks: comments are hidden too),
/// while the friend finds it.
async fn assert_authors_comment_hidden(app: &TestApp, scene: &Scene, viewer: &str) {
    let listed = app
        .list_ids(&comments_path(&scene.other_post), Some(viewer))
        .await;
    assert!(
        !listed.contains(&scene.author_comment),
        "the viewer: Q's comments list the author's"
    );
    assert_problem(
        app.get(&comment_path(&scene.author_comment), Some(viewer))
            .await,
        404,
        "not_found",
    )
    .await;
    let listed = app
        .list_ids(&comments_path(&scene.other_post), Some(&scene.friend))
        .await;
    assert!(listed.contains(&scene.author_comment), "the friend sees it");
    app.get_ok(&comment_path(&scene.author_comment), Some(&scene.friend))
        .await;
}

// ---------------------------------------------------------------------------------------
// Followers-only posts and locked authors
// ---------------------------------------------------------------------------------------

async fn a_followers_only_post_is_hidden_from_anonymous_readers_everywhere(app: TestApp) {
    let scene = scene(&app, "followers").await;
    assert_friend_sees_everything(&app, &scene).await;
    assert_hidden_everywhere(&app, &scene, None, AuthorPosts::Listed, false).await;
}

async fn a_locked_authors_post_is_hidden_from_anonymous_readers_everywhere(app: TestApp) {
    let scene = scene(&app, "public").await;
    app.set_locked(&scene.author, true).await;
    assert_friend_sees_everything(&app, &scene).await;
    assert_hidden_everywhere(
        &app,
        &scene,
        None,
        AuthorPosts::Refused("private_account"),
        false,
    )
    .await;
}

async fn a_post_made_followers_only_is_hidden_from_a_non_follower_everywhere(app: TestApp) {
    let scene = scene(&app, "public").await;
    // The viewer liked P while it was public.
    app.like(&scene.viewer, &scene.post).await;
    app.set_visibility(&scene.author, &scene.post, "followers")
        .await;
    assert_friend_sees_everything(&app, &scene).await;
    assert_hidden_everywhere(&app, &scene, Some(&scene.viewer), AuthorPosts::Listed, true).await;
}

async fn a_followers_only_post_is_hidden_from_a_former_follower_everywhere(app: TestApp) {
    let scene = scene(&app, "followers").await;
    app.follow(&scene.viewer, "author").await;
    app.like(&scene.viewer, &scene.post).await;
    app.unfollow(&scene.viewer, "author").await;
    assert_friend_sees_everything(&app, &scene).await;
    assert_hidden_everywhere(&app, &scene, Some(&scene.viewer), AuthorPosts::Listed, true).await;
}

async fn a_locked_authors_post_is_hidden_from_a_removed_follower_everywhere(app: TestApp) {
    let scene = scene(&app, "public").await;
    app.follow(&scene.viewer, "author").await;
    app.like(&scene.viewer, &scene.post).await;
    app.set_locked(&scene.author, true).await;
    app.remove_follower(&scene.author, "viewer").await;
    assert_friend_sees_everything(&app, &scene).await;
    assert_hidden_everywhere(
        &app,
        &scene,
        Some(&scene.viewer),
        AuthorPosts::Refused("private_account"),
        true,
    )
    .await;
}

both_databases!(
    a_followers_only_post_is_hidden_from_anonymous_readers_everywhere,
    a_locked_authors_post_is_hidden_from_anonymous_readers_everywhere,
    a_post_made_followers_only_is_hidden_from_a_non_follower_everywhere,
    a_followers_only_post_is_hidden_from_a_former_follower_everywhere,
    a_locked_authors_post_is_hidden_from_a_removed_follower_everywhere,
);

// ---------------------------------------------------------------------------------------
// Blocks: posts and comments
// ---------------------------------------------------------------------------------------

async fn a_post_is_hidden_everywhere_from_an_account_its_author_blocks(app: TestApp) {
    let scene = scene(&app, "public").await;
    app.follow(&scene.viewer, "author").await;
    app.like(&scene.viewer, &scene.post).await;
    app.block(&scene.author, "viewer").await;
    assert_friend_sees_everything(&app, &scene).await;
    assert_hidden_everywhere(
        &app,
        &scene,
        Some(&scene.viewer),
        AuthorPosts::Refused("blocked"),
        true,
    )
    .await;
    assert_authors_comment_hidden(&app, &scene, &scene.viewer).await;
}

async fn a_post_is_hidden_everywhere_from_an_account_that_blocks_its_author(app: TestApp) {
    let scene = scene(&app, "public").await;
    app.follow(&scene.viewer, "author").await;
    app.like(&scene.viewer, &scene.post).await;
    app.block(&scene.viewer, "author").await;
    assert_friend_sees_everything(&app, &scene).await;
    assert_hidden_everywhere(
        &app,
        &scene,
        Some(&scene.viewer),
        AuthorPosts::Refused("blocked"),
        true,
    )
    .await;
    assert_authors_comment_hidden(&app, &scene, &scene.viewer).await;
}

both_databases!(
    a_post_is_hidden_everywhere_from_an_account_its_author_blocks,
    a_post_is_hidden_everywhere_from_an_account_that_blocks_its_author,
);

// ---------------------------------------------------------------------------------------
// Blocks: user lists
// ---------------------------------------------------------------------------------------

/// `author` and `viewer` each follow `hub` and are followed by it, and each liked `hub`'s
/// post; `stranger` is uninvolved. Returns the tokens of author, viewer and stranger, and
/// the hub's post.
async fn user_list_scene(app: &TestApp) -> (String, String, String, String) {
    let author = app.user("author").await;
    let viewer = app.user("viewer").await;
    let hub = app.user("hub").await;
    let stranger = app.user("stranger").await;
    let post = id_of(&app.create_post(&hub, "hub speaks").await);
    for (token, name) in [(&author, "author"), (&viewer, "viewer")] {
        app.follow(token, "hub").await;
        app.follow(&hub, name).await;
        app.like(token, &post).await;
    }
    (author, viewer, stranger, post)
}

/// Every user list in which `name` appears in this scene.
fn user_lists(name: &str, post: &str) -> Vec<String> {
    vec![
        format!("{USERS}?q={name}"),
        USERS.to_owned(),
        followers_of("hub"),
        following_of("hub"),
        likers_path(post),
    ]
}

/// `reader` does not find `name` in any user list, while the stranger does.
async fn assert_absent_from_user_lists(
    app: &TestApp,
    reader: (&str, &str),
    name: &str,
    stranger: &str,
    post: &str,
) {
    let (reader_name, reader) = reader;
    for path in user_lists(name, post) {
        let found = app.list_usernames(&path, Some(reader)).await;
        assert!(
            !found.iter().any(|user| user == name),
            "{reader_name} finds {name} in {path}: {found:?}"
        );
        let found = app.list_usernames(&path, Some(stranger)).await;
        assert!(
            found.iter().any(|user| user == name),
            "the stranger finds {name} in {path}: {found:?}"
        );
    }
}

async fn neither_side_of_a_block_finds_the_other_in_user_lists(app: TestApp) {
    let (author, viewer, stranger, post) = user_list_scene(&app).await;
    app.block(&author, "viewer").await;
    assert_absent_from_user_lists(&app, ("viewer", &viewer), "author", &stranger, &post).await;
    assert_absent_from_user_lists(&app, ("author", &author), "viewer", &stranger, &post).await;
}

async fn neither_side_of_a_block_finds_the_other_in_user_lists_whoever_blocks(app: TestApp) {
    let (author, viewer, stranger, post) = user_list_scene(&app).await;
    app.block(&viewer, "author").await;
    assert_absent_from_user_lists(&app, ("viewer", &viewer), "author", &stranger, &post).await;
    assert_absent_from_user_lists(&app, ("author", &author), "viewer", &stranger, &post).await;
    // Unblocking brings them back (only the follows the block removed stay gone).
    app.unblock(&viewer, "author").await;
    let found = app.list_usernames(&likers_path(&post), Some(&viewer)).await;
    assert!(found.iter().any(|user| user == "author"), "{found:?}");
    let found = app
        .list_usernames(&format!("{USERS}?q=author"), Some(&viewer))
        .await;
    assert_eq!(found, ["author"]);
}

both_databases!(
    neither_side_of_a_block_finds_the_other_in_user_lists,
    neither_side_of_a_block_finds_the_other_in_user_lists_whoever_blocks,
);

// ---------------------------------------------------------------------------------------
// Mutes: exactly the lists the contract names
// ---------------------------------------------------------------------------------------

async fn a_muted_authors_post_leaves_the_muters_lists_but_not_its_reads_by_id(app: TestApp) {
    let scene = scene(&app, "public").await;
    app.follow(&scene.viewer, "author").await;
    app.mute(&scene.viewer, "author").await;
    assert_friend_sees_everything(&app, &scene).await;
    let viewer = Some(scene.viewer.as_str());

    // Gone from the feed, every `/posts` list and search, and tag lists.
    for path in post_lists(true, false) {
        let found = app.list_ids(&path, viewer).await;
        assert!(
            !found.contains(&scene.post),
            "the muter: {path} lists the muted author's post"
        );
    }
    // Gone from comment lists.
    let found = app
        .list_ids(&comments_path(&scene.other_post), viewer)
        .await;
    assert!(
        !found.contains(&scene.author_comment),
        "the muter: Q's comments list the muted author's"
    );
    // Still read by id and on the author's profile, with its likes and comments.
    assert_eq!(
        app.get_ok(&post_path(&scene.post), viewer).await["id"],
        scene.post.as_str()
    );
    assert!(
        app.list_ids(&user_posts("author"), viewer)
            .await
            .contains(&scene.post)
    );
    assert_eq!(
        app.list_usernames(&likers_path(&scene.post), viewer).await,
        ["friend"]
    );
    assert_eq!(
        app.list_ids(&comments_path(&scene.post), viewer).await,
        [scene.comment.as_str()]
    );
    // Others, the muted author included, are untouched.
    for reader in [&scene.other, &scene.author] {
        let found = app.list_ids(POSTS, Some(reader)).await;
        assert!(found.contains(&scene.post));
        let found = app
            .list_ids(&comments_path(&scene.other_post), Some(reader))
            .await;
        assert!(found.contains(&scene.author_comment));
    }
    // Unmuting brings it back.
    app.unmute(&scene.viewer, "author").await;
    for path in post_lists(true, false) {
        let found = app.list_ids(&path, viewer).await;
        assert!(found.contains(&scene.post), "after unmuting: {path}");
    }
}

both_databases!(a_muted_authors_post_leaves_the_muters_lists_but_not_its_reads_by_id);
