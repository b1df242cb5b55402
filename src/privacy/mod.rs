//! Who may see what: the one visibility rule of Roost, written once and used by every read.
//!
//! A post is visible to its author and to:
//! - everyone, when its visibility is `public` and its author is not locked;
//! - the author's followers only, when its visibility is `followers` or its author is
//!   locked;
//! - and never to an account that blocks the author or that the author blocks.
//!
//! A mute changes only what the muter's lists show (the feed, `/posts` lists and search,
//! tag lists, comment lists): it hides nothing by id.
//!
//! The rule is SQL, so that every list applies it inside its one statement, before its
//! `LIMIT`, on indexes (blocks and mutes by the pair, follows by follower and followee), and
//! a page costs the same whatever is hidden. Each predicate reads the viewer from the
//! statement's `viewer` table ([`Viewer::with_clause`]); for an anonymous viewer the
//! predicates that need an account are left out of the statement altogether.
//!
//! The account-level rules that are not a filter of rows — who may follow whom, and who may
//! read a locked or blocking account's lists — are [`may_follow`] and [`may_read_lists`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Viewer;
use crate::error::AppError;

/// Who may see a post, as its author chose it. A locked author's posts are for followers
/// only whatever they chose ([`Visibility::effective`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone (when the author is not locked).
    #[default]
    Public,
    /// The author's followers.
    Followers,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Followers => "followers",
        }
    }

    /// The stored value; anything unknown reads as the narrower `followers`.
    pub fn from_stored(stored: &str) -> Self {
        match stored {
            "public" => Visibility::Public,
            _ => Visibility::Followers,
        }
    }

    /// What a post reports: its own visibility, narrowed to `followers` while its author
    /// is locked (so unlocking makes posts written as `public` public again).
    pub fn effective(stored: &str, author_locked: bool) -> Self {
        if author_locked {
            Visibility::Followers
        } else {
            Visibility::from_stored(stored)
        }
    }
}

/// The viewer's account id inside a statement that has a `viewer` table: `NULL` for an
/// anonymous viewer or a token that matched nothing, so every comparison with it fails.
pub const VIEWER_ID: &str = "(SELECT viewer.user_id FROM viewer)";

/// SQL: neither the viewer nor the account `account` (a column expression such as
/// `p.author_id`) blocks the other. Two probes of the blocks' `(blocker_id, blocked_id)`
/// index. Always true for an anonymous viewer: a logged-out visitor is nobody's block.
pub fn not_blocked_either_way(viewer: &Viewer, account: &str) -> String {
    if viewer.is_anonymous() {
        return "TRUE".to_owned();
    }
    format!(
        "(NOT EXISTS (SELECT 1 FROM blocks vb WHERE vb.blocker_id = {VIEWER_ID} AND vb.blocked_id = {account}) \
         AND NOT EXISTS (SELECT 1 FROM blocks vb WHERE vb.blocker_id = {account} AND vb.blocked_id = {VIEWER_ID}))"
    )
}

/// SQL: the same rule as [`not_blocked_either_way`], for statements that test many rows
/// (user search ranks every match before its `LIMIT`): the accounts across a block from
/// the viewer are read once, from the blocks' indexes by either party, into a set (a
/// hashed subplan on PostgreSQL, an ephemeral index on SQLite), and each row is looked up
/// in it instead of probing the blocks table twice.
pub fn outside_blocks(viewer: &Viewer, account: &str) -> String {
    if viewer.is_anonymous() {
        return "TRUE".to_owned();
    }
    format!("{account} NOT IN ({})", hidden_authors(VIEWER_ID, false))
}

/// SQL: the viewer does not mute `account`. Always true for an anonymous viewer.
pub fn not_muted(viewer: &Viewer, account: &str) -> String {
    if viewer.is_anonymous() {
        return "TRUE".to_owned();
    }
    format!(
        "NOT EXISTS (SELECT 1 FROM mutes vm WHERE vm.muter_id = {VIEWER_ID} AND vm.muted_id = {account})"
    )
}

/// SQL: the accounts whose posts the account `who` (an SQL expression: [`VIEWER_ID`], or a
/// column) does not see: those across a block either way, and, for lists that hide them
/// (`with_mutes`), those `who` mutes. Read once per statement from the blocks' and mutes'
/// indexes by either party, as a set (a hashed subplan on PostgreSQL, an ephemeral index on
/// SQLite) that each row is looked up in.
fn hidden_authors(who: &str, with_mutes: bool) -> String {
    let mut sql = format!(
        "SELECT vb.blocked_id FROM blocks vb WHERE vb.blocker_id = {who} \
         UNION ALL SELECT vb.blocker_id FROM blocks vb WHERE vb.blocked_id = {who}"
    );
    if with_mutes {
        sql.push_str(&format!(
            " UNION ALL SELECT vm.muted_id FROM mutes vm WHERE vm.muter_id = {who}"
        ));
    }
    sql
}

/// SQL: the post `post` (an alias of `posts`) is public: everyone may see it.
fn public_post(post: &str) -> String {
    format!(
        "({post}.visibility = 'public' AND (SELECT va.locked FROM users va WHERE va.id = {post}.author_id) = FALSE)"
    )
}

/// SQL: the rule for the post `post` (an alias of `posts`) seen by the account `who` (an
/// SQL expression), leaving out muted authors too when `with_mutes`.
///
/// Whether the author is locked is read by a correlated subquery on the users' primary key
/// rather than by joining the author into the statement: PostgreSQL planned the join as a
/// hash join over every user. The account's blocks, mutes and follows are sets read once
/// per statement, so that a row costs hash lookups and that one primary-key probe.
fn post_rule_for(who: &str, post: &str, with_mutes: bool) -> String {
    format!(
        "({post}.author_id = {who} OR ({post}.author_id NOT IN ({hidden}) AND ({public} \
         OR {post}.author_id IN (SELECT vf.followee_id FROM follows vf WHERE vf.follower_id = {who}))))",
        hidden = hidden_authors(who, with_mutes),
        public = public_post(post),
    )
}

/// SQL: the rule for the post `post` seen by the statement's viewer; an anonymous viewer
/// sees public posts only.
fn post_rule(viewer: &Viewer, post: &str, with_mutes: bool) -> String {
    if viewer.is_anonymous() {
        return public_post(post);
    }
    post_rule_for(VIEWER_ID, post, with_mutes)
}

/// SQL: the viewer may see the post `post` (an alias of `posts`): the rule of this module.
pub fn post_visible(viewer: &Viewer, post: &str) -> String {
    post_rule(viewer, post, false)
}

/// SQL: the post `post` is visible to the viewer and belongs in their lists that hide
/// muted accounts (feed, `/posts`, tag lists).
pub fn post_listed(viewer: &Viewer, post: &str) -> String {
    post_rule(viewer, post, true)
}

/// SQL: the account `who` (an SQL expression, such as a column) may see the post `post`
/// and finds it in the lists that hide muted accounts: the home feed and the stream. For
/// statements that are about other accounts than the viewer (who receives a stream event).
pub fn post_listed_to(who: &str, post: &str) -> String {
    post_rule_for(who, post, true)
}

/// SQL: the account `who` (an SQL expression) may see the post `post`.
pub fn post_visible_to(who: &str, post: &str) -> String {
    post_rule_for(who, post, false)
}

/// SQL: what `actor` does may reach `recipient` (both SQL expressions naming accounts) as a
/// notification or a stream event: neither blocks the other and `recipient` does not mute
/// `actor`. An account's own actions always pass (whether to notify them is the caller's
/// rule).
pub fn reaches(recipient: &str, actor: &str) -> String {
    format!(
        "({actor} = {recipient} OR {actor} NOT IN ({}))",
        hidden_authors(recipient, true)
    )
}

/// SQL: the notification `notification` (an alias of `notifications`, of the statement's
/// viewer) is shown to them: its actor reaches them now ([`reaches`]: a block or a mute
/// made since hides it) and the post it points to, if any, is visible to them now.
pub fn notification_shown(notification: &str) -> String {
    format!(
        "({reaches} AND ({notification}.post_id IS NULL OR EXISTS (SELECT 1 FROM posts np \
         WHERE np.id = {notification}.post_id AND {visible})))",
        reaches = reaches(VIEWER_ID, &format!("{notification}.actor_id")),
        visible = post_visible_to(VIEWER_ID, "np"),
    )
}

/// How the viewer and another account stand, as far as the account-level rules go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    /// The viewer is the account.
    pub is_self: bool,
    /// The viewer blocks the account.
    pub blocking: bool,
    /// The account blocks the viewer.
    pub blocked_by: bool,
    /// The viewer follows the account.
    pub following: bool,
    /// The account is locked.
    pub locked: bool,
}

/// Whether the viewer may read the account's `/users/{username}/posts`, `/followers` and
/// `/following`: 403 `blocked` when either blocks the other (which wins), 403
/// `private_account` when it is locked and the viewer neither is it nor follows it.
pub fn may_read_lists(standing: Standing) -> Result<(), AppError> {
    if standing.is_self {
        return Ok(());
    }
    if standing.blocking || standing.blocked_by {
        return Err(blocked());
    }
    if standing.locked && !standing.following {
        return Err(AppError::forbidden(
            "private_account",
            "This account is locked: only its followers may see its posts and follows.",
        ));
    }
    Ok(())
}

/// Whether the viewer may follow (or ask to follow) the account: never yourself, never
/// across a block.
pub fn may_follow(standing: Standing) -> Result<(), AppError> {
    if standing.is_self {
        return Err(AppError::Unprocessable {
            code: "cannot_follow_self",
            detail: "You cannot follow yourself.".into(),
        });
    }
    if standing.blocking || standing.blocked_by {
        return Err(blocked());
    }
    Ok(())
}

/// 403 `blocked`: one of the two accounts blocks the other.
pub fn blocked() -> AppError {
    AppError::forbidden("blocked", "One of the two accounts blocks the other.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_author_narrows_every_post_to_followers() {
        assert_eq!(Visibility::effective("public", false), Visibility::Public);
        assert_eq!(Visibility::effective("public", true), Visibility::Followers);
        assert_eq!(
            Visibility::effective("followers", false),
            Visibility::Followers
        );
    }

    #[test]
    fn blocked_wins_over_private_account_and_yourself_is_always_allowed() {
        let locked_and_blocked = Standing {
            locked: true,
            blocked_by: true,
            ..Standing::default()
        };
        let error = may_read_lists(locked_and_blocked).unwrap_err();
        assert!(format!("{error:?}").contains("\"blocked\""), "{error:?}");
        let locked = Standing {
            locked: true,
            ..Standing::default()
        };
        assert!(format!("{:?}", may_read_lists(locked).unwrap_err()).contains("private_account"));
        assert!(
            may_read_lists(Standing {
                following: true,
                ..locked
            })
            .is_ok()
        );
        assert!(
            may_read_lists(Standing {
                is_self: true,
                ..locked_and_blocked
            })
            .is_ok()
        );
    }

    #[test]
    fn an_anonymous_viewer_sees_public_posts_of_unlocked_authors_only() {
        let sql = post_visible(&Viewer::Anonymous, "p");
        assert_eq!(
            sql,
            "(p.visibility = 'public' AND (SELECT va.locked FROM users va WHERE va.id = p.author_id) = FALSE)"
        );
        assert!(!sql.contains("viewer"));
    }
}
