//! Scenario steps for the privacy rules, shared by `privacy`, `visibility_walk` and
//! `privacy_races`: locking an account, follow requests, removing a follower, blocks,
//! mutes and post visibility, each asserting that it succeeded; the paths they use; and
//! small readers (a profile's relation fields, the ids of a list).

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

pub use crate::helpers::assert_problem_status;
use crate::helpers::{POSTS, TestApp, ids, json_created, json_ok, post_path, with_param};

pub const ME: &str = "/api/v1/me";
pub const FEED: &str = "/api/v1/feed";
pub const USERS: &str = "/api/v1/users";
pub const MY_FOLLOWING: &str = "/api/v1/me/following";
pub const MY_FOLLOWERS: &str = "/api/v1/me/followers";
pub const MY_LIKES: &str = "/api/v1/me/likes";
pub const MY_POSTS: &str = "/api/v1/me/posts";
pub const FOLLOW_REQUESTS: &str = "/api/v1/me/follow-requests";
pub const MY_BLOCKS: &str = "/api/v1/me/blocks";
pub const MY_MUTES: &str = "/api/v1/me/mutes";

/// The viewer-relative fields of a User about the account it describes.
pub const RELATION_FIELDS: [&str; 6] = [
    "following",
    "followed_by",
    "requested",
    "blocking",
    "blocked_by",
    "muting",
];

pub fn user_path(username: &str) -> String {
    format!("{USERS}/{username}")
}

pub fn user_posts(username: &str) -> String {
    format!("{USERS}/{username}/posts")
}

pub fn followers_of(username: &str) -> String {
    format!("{USERS}/{username}/followers")
}

pub fn following_of(username: &str) -> String {
    format!("{USERS}/{username}/following")
}

pub fn likers_path(post: &str) -> String {
    format!("{}/likes", post_path(post))
}

pub fn like_path(post: &str) -> String {
    format!("{}/like", post_path(post))
}

pub fn comments_path(post: &str) -> String {
    format!("{}/comments", post_path(post))
}

pub fn comment_path(comment: &str) -> String {
    format!("/api/v1/comments/{comment}")
}

pub fn following_path(username: &str) -> String {
    format!("{MY_FOLLOWING}/{username}")
}

pub fn follower_path(username: &str) -> String {
    format!("{MY_FOLLOWERS}/{username}")
}

pub fn block_path(username: &str) -> String {
    format!("{MY_BLOCKS}/{username}")
}

pub fn mute_path(username: &str) -> String {
    format!("{MY_MUTES}/{username}")
}

pub fn accept_path(username: &str) -> String {
    format!("{FOLLOW_REQUESTS}/{username}/accept")
}

pub fn reject_path(username: &str) -> String {
    format!("{FOLLOW_REQUESTS}/{username}/reject")
}

/// `/posts?tag=` / `?q=` / `?author=` with a URL-safe value.
pub fn posts_with(param: &str, value: &str) -> String {
    format!("{POSTS}?{param}={value}")
}

/// The six relation fields of a User, in [`RELATION_FIELDS`] order.
pub fn relations_of(user: &Value) -> Vec<Value> {
    RELATION_FIELDS
        .iter()
        .map(|field| {
            user.get(*field)
                .unwrap_or_else(|| panic!("{field} is present: {user}"))
                .clone()
        })
        .collect()
}

/// Six `null`s: the relation fields for an anonymous reader, or on yourself.
pub fn no_relations() -> Vec<Value> {
    vec![Value::Null; 6]
}

/// The relation fields as booleans, in [`RELATION_FIELDS`] order.
pub fn relations(
    following: bool,
    followed_by: bool,
    requested: bool,
    blocking: bool,
    blocked_by: bool,
    muting: bool,
) -> Vec<Value> {
    [
        following,
        followed_by,
        requested,
        blocking,
        blocked_by,
        muting,
    ]
    .into_iter()
    .map(Value::Bool)
    .collect()
}

/// The usernames of the `mentions` of a post or comment, in order.
pub fn mention_names(object: &Value) -> Vec<String> {
    object["mentions"]
        .as_array()
        .unwrap_or_else(|| panic!("mentions: {object}"))
        .iter()
        .map(|user| {
            user["username"]
                .as_str()
                .unwrap_or_else(|| panic!("a UserSummary: {user}"))
                .to_owned()
        })
        .collect()
}

/// Asserts an empty 204.
pub async fn assert_empty_204(response: Response, what: &str) {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT, "{what}: {text}");
    assert!(text.is_empty(), "{what}: a 204 has no body: {text}");
}

impl TestApp {
    /// A request without a body.
    pub async fn send(&self, method: Method, path: &str, token: Option<&str>) -> Response {
        self.request(method, path, token)
            .send()
            .await
            .expect("request sent")
    }

    /// A request with a JSON body.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `PATCH /me {"locked": locked}`, which must answer 200 with `locked` set; returns Me.
    pub async fn set_locked(&self, token: &str, locked: bool) -> Value {
        let body = json!({"locked": locked});
        let me = json_ok(
            self.send_json(Method::PATCH, ME, Some(token), &body).await,
            &format!("PATCH /me {body}"),
        )
        .await;
        assert_eq!(me["locked"], locked, "{me}");
        me
    }

    /// `PUT /me/following/{username}`.
    pub async fn put_following(&self, token: &str, username: &str) -> Response {
        self.send(Method::PUT, &following_path(username), Some(token))
            .await
    }

    /// `PUT /me/following/{username}` to a locked account, which must answer 202.
    pub async fn request_follow(&self, token: &str, username: &str) {
        let response = self.put_following(token, username).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "asking to follow {username}: {text}"
        );
    }

    /// `POST /me/follow-requests/{username}/accept`, which must answer 204.
    pub async fn accept_request(&self, token: &str, username: &str) {
        let response = self
            .send(Method::POST, &accept_path(username), Some(token))
            .await;
        assert_empty_204(response, &format!("accept {username}")).await;
    }

    /// `POST /me/follow-requests/{username}/reject`, which must answer 204.
    pub async fn reject_request(&self, token: &str, username: &str) {
        let response = self
            .send(Method::POST, &reject_path(username), Some(token))
            .await;
        assert_empty_204(response, &format!("reject {username}")).await;
    }

    /// `DELETE /me/followers/{username}`, which must answer 204.
    pub async fn remove_follower(&self, token: &str, username: &str) {
        let response = self
            .send(Method::DELETE, &follower_path(username), Some(token))
            .await;
        assert_empty_204(response, &format!("remove follower {username}")).await;
    }

    /// `PUT /me/blocks/{username}`, which must answer 204.
    pub async fn block(&self, token: &str, username: &str) {
        let response = self
            .send(Method::PUT, &block_path(username), Some(token))
            .await;
        assert_empty_204(response, &format!("block {username}")).await;
    }

    /// `DELETE /me/blocks/{username}`, which must answer 204.
    pub async fn unblock(&self, token: &str, username: &str) {
        let response = self
            .send(Method::DELETE, &block_path(username), Some(token))
            .await;
        assert_empty_204(response, &format!("unblock {username}")).await;
    }

    /// `PUT /me/mutes/{username}`, which must answer 204.
    pub async fn mute(&self, token: &str, username: &str) {
        let response = self
            .send(Method::PUT, &mute_path(username), Some(token))
            .await;
        assert_empty_204(response, &format!("mute {username}")).await;
    }

    /// `DELETE /me/mutes/{username}`, which must answer 204.
    pub async fn unmute(&self, token: &str, username: &str) {
        let response = self
            .send(Method::DELETE, &mute_path(username), Some(token))
            .await;
        assert_empty_204(response, &format!("unmute {username}")).await;
    }

    /// Creates a post with `content` and `visibility`, which must answer 201.
    pub async fn create_post_as(&self, token: &str, content: &str, visibility: &str) -> Value {
        let body = json!({"content": content, "visibility": visibility});
        json_created(self.send_post(Some(token), &body).await, &body.to_string()).await
    }

    /// `PATCH /posts/{id}` with `body`.
    pub async fn patch_post(&self, token: &str, id: &str, body: &Value) -> Response {
        self.send_json(Method::PATCH, &post_path(id), Some(token), body)
            .await
    }

    /// `PATCH /posts/{id} {"visibility": visibility}`, which must answer 200; returns the
    /// post.
    pub async fn set_visibility(&self, token: &str, id: &str, visibility: &str) -> Value {
        let body = json!({"visibility": visibility});
        json_ok(
            self.patch_post(token, id, &body).await,
            &format!("PATCH {id} {body}"),
        )
        .await
    }

    /// `GET /users/{username}` as `token` sees it, which must answer 200.
    pub async fn profile(&self, username: &str, token: Option<&str>) -> Value {
        self.get_ok(&user_path(username), token).await
    }

    /// The relation fields of `username`'s profile as `token` sees it.
    pub async fn relations_seen(&self, username: &str, token: Option<&str>) -> Vec<Value> {
        relations_of(&self.profile(username, token).await)
    }

    /// The ids of a list's first page of up to 100.
    pub async fn list_ids(&self, path: &str, token: Option<&str>) -> Vec<String> {
        ids(&self.get_ok(&with_param(path, "limit=100"), token).await)
    }

    /// The first page of up to 100 items of a list, as JSON values.
    pub async fn list_items(&self, path: &str, token: Option<&str>) -> Vec<Value> {
        let page = self.get_ok(&with_param(path, "limit=100"), token).await;
        page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("a list page: {page}"))
            .clone()
    }
}
