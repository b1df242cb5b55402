//! Queries on the relations between two accounts: follows, follow requests, blocks and
//! mutes. Every write here runs inside a transaction that first locked the pair
//! ([`lock_pair`]).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Expr, ExprTrait, JoinType, LockType, Order, Query, SelectStatement, UnionType,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::db::{insert_once, new_id};
use crate::notifications::{self, Kind, Notice};
use crate::pagination::Window;
use crate::users::entity::{block, follow, follow_request, mute, user};
use crate::users::{RelationFlags, Relations};

/// Locks the rows of two accounts for the rest of the transaction, in id order (so two
/// transactions on the same pair queue instead of deadlocking), and returns them; an
/// account that no longer exists is missing from the answer.
///
/// The lock is PostgreSQL's `FOR NO KEY UPDATE`: it queues the pair's other changes (and
/// waits for an account being deleted) but not the foreign-key checks of other writes
/// (`FOR KEY SHARE`), such as a like or a notification pointing at either account. With
/// `FOR UPDATE`, a like of one account's post (holding a key-share lock on the liker, then
/// wanting one on the author for the notification) deadlocked with a follow of the pair.
pub async fn lock_pair(
    db: &impl ConnectionTrait,
    a: Uuid,
    b: Uuid,
) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Id.is_in([a, b]))
        .order_by_asc(user::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .all(db)
        .await
}

/// One row of [`relations`]: that the viewer stands in relation `kind` to `id`.
#[derive(Debug, FromQueryResult)]
struct RelationRow {
    kind: i32,
    id: Uuid,
}

const FOLLOWING: i32 = 0;
const FOLLOWED_BY: i32 = 1;
const REQUESTED: i32 = 2;
const BLOCKING: i32 = 3;
const BLOCKED_BY: i32 = 4;
const MUTING: i32 = 5;
const REQUESTED_BY: i32 = 6;

/// The viewer's relations to `ids` (following, followed by, requested, blocking, blocked
/// by, muting), in one statement whatever the number of ids: six index range reads, one
/// per relation, joined with `UNION ALL`.
pub async fn relations(
    db: &impl ConnectionTrait,
    viewer: Option<Uuid>,
    ids: &[Uuid],
) -> Result<Relations, DbErr> {
    relations_of(db, viewer, ids, false).await
}

/// [`relations`], and whether each account has a pending request to follow the viewer
/// (`requested_by`): one more index range read in the same statement.
pub async fn relationships(
    db: &impl ConnectionTrait,
    viewer: Option<Uuid>,
    ids: &[Uuid],
) -> Result<Relations, DbErr> {
    relations_of(db, viewer, ids, true).await
}

async fn relations_of(
    db: &impl ConnectionTrait,
    viewer: Option<Uuid>,
    ids: &[Uuid],
    with_requested_by: bool,
) -> Result<Relations, DbErr> {
    let Some(viewer) = viewer else {
        return Ok(Relations::anonymous());
    };
    if ids.is_empty() {
        return Ok(Relations::new(Some(viewer), []));
    }
    let related = |kind: i32, table: &'static str, own: &'static str, other: &'static str| {
        Query::select()
            .expr_as(Expr::cust(kind.to_string()), "kind")
            .expr_as(Expr::col(other), "id")
            .from(table)
            .and_where(Expr::col(own).eq(viewer))
            .and_where(Expr::col(other).is_in(ids.iter().copied()))
            .to_owned()
    };
    let mut select = related(FOLLOWING, "follows", "follower_id", "followee_id");
    for part in [
        related(FOLLOWED_BY, "follows", "followee_id", "follower_id"),
        related(REQUESTED, "follow_requests", "requester_id", "target_id"),
        related(BLOCKING, "blocks", "blocker_id", "blocked_id"),
        related(BLOCKED_BY, "blocks", "blocked_id", "blocker_id"),
        related(MUTING, "mutes", "muter_id", "muted_id"),
    ] {
        select.union(UnionType::All, part);
    }
    if with_requested_by {
        select.union(
            UnionType::All,
            related(REQUESTED_BY, "follow_requests", "target_id", "requester_id"),
        );
    }
    let statement = db.get_database_backend().build(&select);
    let rows = RelationRow::find_by_statement(statement).all(db).await?;
    let mut flags = std::collections::HashMap::<Uuid, RelationFlags>::new();
    for row in rows {
        let entry = flags.entry(row.id).or_default();
        match row.kind {
            FOLLOWING => entry.following = true,
            FOLLOWED_BY => entry.followed_by = true,
            REQUESTED => entry.requested = true,
            BLOCKING => entry.blocking = true,
            BLOCKED_BY => entry.blocked_by = true,
            REQUESTED_BY => entry.requested_by = true,
            _ => entry.muting = true,
        }
    }
    Ok(Relations::new(Some(viewer), flags))
}

/// Records that `follower` follows `followee`, once: a repeat changes nothing (the original
/// follow keeps its place in lists). Returns whether a follow was created. The counters
/// move with the row.
pub async fn follow(
    db: &impl ConnectionTrait,
    follower: Uuid,
    followee: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = follow::ActiveModel {
        id: Set(new_id()),
        follower_id: Set(follower),
        followee_id: Set(followee),
        created_at: Set(now),
    };
    let unique = [follow::Column::FollowerId, follow::Column::FolloweeId];
    let created = insert_once(db, row, unique).await?;
    if created {
        adjust_follow_counts(db, follower, followee, 1).await?;
        notifications::notify(db, Notice::account(Kind::Follow, followee, follower), now).await?;
    }
    Ok(created)
}

/// Removes the follow if it exists; returns whether one was removed.
pub async fn unfollow(
    db: &impl ConnectionTrait,
    follower: Uuid,
    followee: Uuid,
) -> Result<bool, DbErr> {
    let deleted = follow::Entity::delete_many()
        .filter(follow::Column::FollowerId.eq(follower))
        .filter(follow::Column::FolloweeId.eq(followee))
        .exec(db)
        .await?
        .rows_affected;
    if deleted > 0 {
        adjust_follow_counts(db, follower, followee, -1).await?;
        notifications::withdraw(db, Notice::account(Kind::Follow, followee, follower)).await?;
    }
    Ok(deleted > 0)
}

/// Moves both counters of one follow by `delta`, touching the two rows in id order.
async fn adjust_follow_counts(
    db: &impl ConnectionTrait,
    follower: Uuid,
    followee: Uuid,
    delta: i64,
) -> Result<(), DbErr> {
    let mut updates = [
        (follower, user::Column::FollowingCount),
        (followee, user::Column::FollowersCount),
    ];
    updates.sort_by_key(|(id, _)| *id);
    for (id, column) in updates {
        add_to_counter(db, &[id], column, delta).await?;
    }
    Ok(())
}

/// Adds `delta` to `column` of every account in `ids`, in id order, in chunks.
async fn add_to_counter(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    column: user::Column,
    delta: i64,
) -> Result<(), DbErr> {
    let mut ids = ids.to_vec();
    ids.sort();
    for chunk in ids.chunks(500) {
        user::Entity::update_many()
            .col_expr(column, Expr::col(column).add(delta))
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Records that `requester` asks to follow `target`, once. Returns whether it is new.
pub async fn request(
    db: &impl ConnectionTrait,
    requester: Uuid,
    target: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = follow_request::ActiveModel {
        id: Set(new_id()),
        requester_id: Set(requester),
        target_id: Set(target),
        created_at: Set(now),
    };
    let unique = [
        follow_request::Column::RequesterId,
        follow_request::Column::TargetId,
    ];
    let created = insert_once(db, row, unique).await?;
    if created {
        let notice = Notice::account(Kind::FollowRequest, target, requester);
        notifications::notify(db, notice, now).await?;
    }
    Ok(created)
}

/// Removes the pending request of `requester` to `target`; returns whether there was one.
pub async fn remove_request(
    db: &impl ConnectionTrait,
    requester: Uuid,
    target: Uuid,
) -> Result<bool, DbErr> {
    let deleted = follow_request::Entity::delete_many()
        .filter(follow_request::Column::RequesterId.eq(requester))
        .filter(follow_request::Column::TargetId.eq(target))
        .exec(db)
        .await?
        .rows_affected;
    if deleted > 0 {
        let notice = Notice::account(Kind::FollowRequest, target, requester);
        notifications::withdraw(db, notice).await?;
    }
    Ok(deleted > 0)
}

/// Turns every pending request to `target` into a follow (with the counters and the
/// notifications: `follow_accepted` to each asker, `follow` to `target`, and the requests'
/// own withdrawn), oldest first; returns how many there were. The caller holds `target`'s row locked (by the
/// update that unlocked it), so no request to it can be added meanwhile.
pub async fn accept_all_requests(
    db: &impl ConnectionTrait,
    target: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let backend = db.get_database_backend();
    let delete = Query::delete()
        .from_table(follow_request::Entity)
        .and_where(Expr::col(follow_request::Column::TargetId).eq(target))
        .returning_col(follow_request::Column::RequesterId)
        .to_owned();
    let rows = db.query_all_raw(backend.build(&delete)).await?;
    let mut requesters = Vec::with_capacity(rows.len());
    for row in rows {
        requesters.push(row.try_get::<Uuid>("", "requester_id")?);
    }
    if requesters.is_empty() {
        return Ok(0);
    }
    // A request and a follow of the same pair never coexist (both are written under the
    // pair's lock), so every insert below is new and the counters move by exactly as much.
    for chunk in requesters.chunks(500) {
        follow::Entity::insert_many(chunk.iter().map(|requester| follow::ActiveModel {
            id: Set(new_id()),
            follower_id: Set(*requester),
            followee_id: Set(target),
            created_at: Set(now),
        }))
        .exec_without_returning(db)
        .await?;
    }
    add_to_counter(
        db,
        &[target],
        user::Column::FollowersCount,
        requesters.len() as i64,
    )
    .await?;
    add_to_counter(db, &requesters, user::Column::FollowingCount, 1).await?;
    for &requester in &requesters {
        notifications::withdraw(db, Notice::account(Kind::FollowRequest, target, requester))
            .await?;
        notifications::notify(db, Notice::account(Kind::Follow, target, requester), now).await?;
        let accepted = Notice::account(Kind::FollowAccepted, requester, target);
        notifications::notify(db, accepted, now).await?;
    }
    Ok(requesters.len())
}

/// Records that `blocker` blocks `blocked`, once. Returns whether it is new.
pub async fn block(
    db: &impl ConnectionTrait,
    blocker: Uuid,
    blocked: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = block::ActiveModel {
        id: Set(new_id()),
        blocker_id: Set(blocker),
        blocked_id: Set(blocked),
        created_at: Set(now),
    };
    insert_once(
        db,
        row,
        [block::Column::BlockerId, block::Column::BlockedId],
    )
    .await
}

/// Removes the block if there is one.
pub async fn unblock(db: &impl ConnectionTrait, blocker: Uuid, blocked: Uuid) -> Result<(), DbErr> {
    block::Entity::delete_many()
        .filter(block::Column::BlockerId.eq(blocker))
        .filter(block::Column::BlockedId.eq(blocked))
        .exec(db)
        .await?;
    Ok(())
}

/// Records that `muter` mutes `muted`, once.
pub async fn mute(
    db: &impl ConnectionTrait,
    muter: Uuid,
    muted: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = mute::ActiveModel {
        id: Set(new_id()),
        muter_id: Set(muter),
        muted_id: Set(muted),
        created_at: Set(now),
    };
    insert_once(db, row, [mute::Column::MuterId, mute::Column::MutedId]).await?;
    Ok(())
}

/// Removes the mute if there is one.
pub async fn unmute(db: &impl ConnectionTrait, muter: Uuid, muted: Uuid) -> Result<(), DbErr> {
    mute::Entity::delete_many()
        .filter(mute::Column::MuterId.eq(muter))
        .filter(mute::Column::MutedId.eq(muted))
        .exec(db)
        .await?;
    Ok(())
}

/// A list of accounts related to one account.
#[derive(Debug, Clone, Copy)]
pub enum Related {
    /// Who asks to follow the account: oldest request first.
    FollowRequests,
    /// Whom the account blocks: most recent first.
    Blocks,
    /// Whom the account mutes: most recent first.
    Mutes,
}

impl Related {
    /// The table, the subject's column, the other account's column, and the order.
    fn shape(self) -> (&'static str, &'static str, &'static str, Order) {
        match self {
            Related::FollowRequests => ("follow_requests", "target_id", "requester_id", Order::Asc),
            Related::Blocks => ("blocks", "blocker_id", "blocked_id", Order::Desc),
            Related::Mutes => ("mutes", "muter_id", "muted_id", Order::Desc),
        }
    }
}

/// A user in a list of related accounts, with the relation's id (the list's sort key).
#[derive(Debug, FromQueryResult)]
pub struct RelatedUser {
    pub relation_id: Uuid,
    #[sea_orm(nested)]
    pub user: user::Model,
}

/// One page of the accounts `subject` relates to in `list`, after the relation `after`:
/// a range read of the `(subject, id)` index joined to users.
pub async fn list_related(
    db: &impl ConnectionTrait,
    subject: Uuid,
    list: Related,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<RelatedUser>, DbErr> {
    let (mut select, order) = related_select(subject, list);
    if let Some(after) = after {
        select.and_where(match order {
            Order::Asc => Expr::col(("r", "id")).gt(after),
            _ => Expr::col(("r", "id")).lt(after),
        });
    }
    select.order_by(("r", "id"), order).limit(limit);
    let statement = db.get_database_backend().build(&select);
    RelatedUser::find_by_statement(statement).all(db).await
}

/// Up to `limit` accounts `subject` relates to in `list` whose relation id is within
/// `window`, most recent relation first whatever the list's own order (the
/// Mastodon-compatible API pages every list so).
pub async fn list_related_in_window(
    db: &impl ConnectionTrait,
    subject: Uuid,
    list: Related,
    window: Window,
    limit: u64,
) -> Result<Vec<RelatedUser>, DbErr> {
    let (mut select, _) = related_select(subject, list);
    window.keyset(&mut select, ("r", "id"), limit);
    let statement = db.get_database_backend().build(&select);
    let mut rows = RelatedUser::find_by_statement(statement).all(db).await?;
    rows.sort_unstable_by_key(|row| std::cmp::Reverse(row.relation_id));
    Ok(rows)
}

/// The accounts `subject` relates to in `list`, joined to users (the relation's alias is
/// `r`), unordered and unlimited, with the list's own order.
fn related_select(subject: Uuid, list: Related) -> (SelectStatement, Order) {
    let (table, own, other, order) = list.shape();
    let mut select: SelectStatement = Query::select();
    select
        .expr_as(Expr::col(("r", "id")), "relation_id")
        .columns(crate::users::store::user_columns("u"))
        .from_as(table, "r")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "u",
            Expr::col(("u", user::Column::Id)).equals(("r", other)),
        )
        .and_where(Expr::col(("r", own)).eq(subject));
    (select, order)
}
