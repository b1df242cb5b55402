//! Queries on accounts and the follow graph.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, JoinType, LikeExpr, Order, Query, SelectStatement,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::{follow, user};
use crate::auth::{Viewer, ViewerColumns};
use crate::db::new_id;
use crate::pagination::Window;
use crate::privacy;

/// The fields a new account starts with.
pub struct NewUser {
    pub email: String,
    pub username: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewUser) -> Result<user::Model, DbErr> {
    let model = user::Model {
        id: new_id(),
        email: new.email,
        username: new.username,
        password_hash: new.password_hash,
        display_name: String::new(),
        bio: String::new(),
        location: String::new(),
        website: String::new(),
        avatar_key: None,
        created_at: new.created_at,
        followers_count: 0,
        following_count: 0,
        posts_count: 0,
        display_name_search: String::new(),
        locked: false,
    };
    let active: user::ActiveModel = model.clone().into();
    user::Entity::insert(active)
        .exec_without_returning(db)
        .await?;
    Ok(model)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// The account whose 64-bit number (see [`crate::db::ids`]) is `number`: a range read of
/// the primary key, the first account of the range if ever two share it.
pub async fn find_by_number(
    db: &impl ConnectionTrait,
    number: i64,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(in_range(number))
        .order_by_asc(user::Column::Id)
        .one(db)
        .await
}

/// The accounts whose numbers are among `numbers`, in one statement (a range read of the
/// primary key per number), in id order.
pub async fn find_by_numbers(
    db: &impl ConnectionTrait,
    numbers: &[i64],
) -> Result<Vec<user::Model>, DbErr> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let any = numbers
        .iter()
        .fold(Condition::any(), |any, number| any.add(in_range(*number)));
    user::Entity::find()
        .filter(any)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await
}

/// The accounts whose ids have the number `number`.
fn in_range(number: i64) -> Condition {
    let (lowest, end) = crate::db::ids::range(number);
    let condition = Condition::all().add(user::Column::Id.gte(lowest));
    match end {
        Some(end) => condition.add(user::Column::Id.lt(end)),
        None => condition,
    }
}

/// Looks up by a lower-cased email.
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await
}

/// Looks up by username, case-insensitively (usernames are stored lower-cased).
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    // A string that cannot be a username names nobody (and may hold bytes, such as NUL,
    // that a database would refuse).
    if super::domain::Username::parse(username).is_err() {
        return Ok(None);
    }
    user::Entity::find()
        .filter(user::Column::Username.eq(username.to_ascii_lowercase()))
        .one(db)
        .await
}

pub async fn email_exists(db: &impl ConnectionTrait, email: &str) -> Result<bool, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .count(db)
        .await?
        > 0)
}

pub async fn username_exists(db: &impl ConnectionTrait, username: &str) -> Result<bool, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .count(db)
        .await?
        > 0)
}

pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
    password_hash: String,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Profile fields to change; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct ProfileChanges {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub locked: Option<bool>,
}

pub async fn update_profile(
    db: &impl ConnectionTrait,
    id: Uuid,
    changes: ProfileChanges,
) -> Result<(), DbErr> {
    let mut update = user::Entity::update_many().filter(user::Column::Id.eq(id));
    let mut changed = false;
    if let Some(username) = changes.username {
        update = update.col_expr(user::Column::Username, Expr::value(username));
        changed = true;
    }
    if let Some(display_name) = changes.display_name {
        update = update
            .col_expr(
                user::Column::DisplayNameSearch,
                Expr::value(super::domain::fold_case(&display_name)),
            )
            .col_expr(user::Column::DisplayName, Expr::value(display_name));
        changed = true;
    }
    for (column, value) in [
        (user::Column::Bio, changes.bio),
        (user::Column::Location, changes.location),
        (user::Column::Website, changes.website),
    ] {
        if let Some(value) = value {
            update = update.col_expr(column, Expr::value(value));
            changed = true;
        }
    }
    if let Some(locked) = changes.locked {
        update = update.col_expr(user::Column::Locked, Expr::value(locked));
        changed = true;
    }
    if changed {
        update.exec(db).await?;
    }
    Ok(())
}

/// Sets the avatar key and returns the one it replaced.
pub async fn set_avatar(
    db: &impl ConnectionTrait,
    id: Uuid,
    key: Option<String>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::AvatarKey, Expr::value(key))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// All users the viewer may list (not across a block), newest first, after `after` (an id
/// from the previous page).
pub async fn list_newest(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    let mut select = Query::select();
    select
        .columns(user_columns("u"))
        .from_as(user::Entity, "u")
        .and_where(Expr::cust(privacy::not_blocked_either_way(viewer, "u.id")));
    if let Some(after) = after {
        select.and_where(Expr::col(("u", user::Column::Id)).lt(after));
    }
    select
        .order_by(("u", user::Column::Id), Order::Desc)
        .limit(limit);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    user::Model::find_by_statement(statement).all(db).await
}

/// The viewer's own account, found through their token, and what the query found for the
/// token (see [`Viewer`]).
#[derive(Debug, FromQueryResult)]
pub struct OwnAccount {
    #[sea_orm(nested)]
    pub user: user::Model,
    #[sea_orm(nested)]
    pub viewer: ViewerColumns,
}

/// The viewer's account in the same statement as their token check: `None` when the token
/// matches no account (unknown, revoked, or its account deleted).
pub async fn find_own_account(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
) -> Result<Option<OwnAccount>, DbErr> {
    let mut select = Query::select();
    select
        .columns(user_columns("u"))
        .from_as("viewer", "v")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "u",
            Expr::col(("u", user::Column::Id)).equals(("v", "user_id")),
        );
    Viewer::columns(&mut select);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    OwnAccount::find_by_statement(statement).one(db).await
}

/// Which matches of a user search to rank: after a position (the (rank, username) of the
/// previous page's last hit), or skipping `offset` of them, and only the accounts the
/// viewer follows with `following_only`.
#[derive(Debug, Clone, Default)]
pub struct SearchScope {
    pub after: Option<(i32, String)>,
    pub offset: u64,
    pub following_only: bool,
}

/// A search hit with its rank (0 exact username, 1 username prefix, 2 any other match), the
/// viewer's relations to it (`None` for an anonymous viewer) and what the query found for
/// the viewer's token.
#[derive(Debug, FromQueryResult)]
pub struct RankedUser {
    pub search_rank: i32,
    #[sea_orm(nested)]
    pub user: user::Model,
    pub following: Option<bool>,
    pub followed_by: Option<bool>,
    pub requested: Option<bool>,
    pub muting: Option<bool>,
    #[sea_orm(nested)]
    pub viewer: ViewerColumns,
}

/// Users whose username or display name contains `needle` (already lower-cased),
/// ranked exact username, then username prefix, then the rest; ties by username.
/// `after` is the (rank, username) of the previous page's last hit. The viewer's token is
/// checked, and their relations to the page's users found, in the same statement.
///
/// How it stays fast at 100,000 users: the candidate set comes from a trigram index —
/// `pg_trgm` GIN indexes on PostgreSQL, an FTS5 `trigram` table on SQLite — so a
/// substring match does not scan the table. On SQLite the match is a `GLOB`: FTS5 serves
/// `LIKE` from its index only without an `ESCAPE` clause, and a literal `LIKE` needs one
/// (usernames contain `_`), so `LIKE` scanned the whole index, ten times slower than the
/// users table itself on the benchmark's 10,000 users. Both columns are stored folded, as
/// the needle is, so `GLOB`'s case sensitivity changes nothing. Needles of one or two
/// characters are below the trigram length; SQLite then scans the (narrow) users table,
/// PostgreSQL still uses its GIN index.
pub async fn search(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    needle: &str,
    scope: &SearchScope,
    limit: u64,
) -> Result<Vec<RankedUser>, DbErr> {
    let backend = db.get_database_backend();
    let candidates = match backend {
        DbBackend::Sqlite if needle.chars().count() >= 3 => candidates_sqlite(needle),
        _ => candidates_by_like(needle),
    };
    let mut matches = Query::select();
    matches
        .columns(user_columns("u"))
        .expr_as(
            Expr::case(Expr::col(("u", user::Column::Username)).eq(needle), 0)
                .case(
                    Expr::col(("u", user::Column::Username))
                        .like(LikeExpr::new(format!("{}%", escape_like(needle))).escape('\\')),
                    1,
                )
                .finally(2),
            "search_rank",
        )
        .from_as(user::Entity, "u")
        .and_where(candidates)
        .and_where(Expr::cust(privacy::outside_blocks(viewer, "u.id")));
    if scope.following_only {
        // No account for an anonymous viewer: `VIEWER_ID` is NULL and nothing matches.
        matches.and_where(Expr::cust(format!(
            "u.id IN (SELECT sf.followee_id FROM follows sf WHERE sf.follower_id = {})",
            privacy::VIEWER_ID
        )));
    }
    let mut ranked = Query::select();
    ranked.column(Asterisk).from_subquery(matches, "ranked");
    if let Some((rank, username)) = scope.after.clone() {
        ranked.and_where(
            Expr::col("search_rank")
                .gt(rank)
                .or(Expr::col("search_rank")
                    .eq(rank)
                    .and(Expr::col(user::Column::Username).gt(username))),
        );
    }
    ranked
        .order_by("search_rank", Order::Asc)
        .order_by(user::Column::Username, Order::Asc)
        .limit(limit);
    if scope.offset > 0 {
        ranked.offset(scope.offset);
    }
    // Relations are computed for the page's users only, after the limit. Blocks are not:
    // the candidates exclude accounts across a block either way.
    let relation = |sql: &str| {
        Expr::cust(format!(
            "CASE WHEN v.user_id IS NULL THEN NULL ELSE EXISTS ({sql}) END"
        ))
    };
    let mut select = Query::select();
    select
        .column(("hit", Asterisk))
        .expr_as(
            relation("SELECT 1 FROM follows f WHERE f.follower_id = v.user_id AND f.followee_id = hit.id"),
            "following",
        )
        .expr_as(
            relation("SELECT 1 FROM follows f WHERE f.follower_id = hit.id AND f.followee_id = v.user_id"),
            "followed_by",
        )
        .expr_as(
            relation("SELECT 1 FROM follow_requests r WHERE r.requester_id = v.user_id AND r.target_id = hit.id"),
            "requested",
        )
        .expr_as(
            relation("SELECT 1 FROM mutes m WHERE m.muter_id = v.user_id AND m.muted_id = hit.id"),
            "muting",
        )
        .from_subquery(ranked, "hit");
    viewer.join_columns(&mut select);
    select
        .order_by(("hit", "search_rank"), Order::Asc)
        .order_by(("hit", user::Column::Username), Order::Asc);
    let statement = backend.build(&select.with(viewer.with_clause()));
    RankedUser::find_by_statement(statement).all(db).await
}

/// The users matching `needle`, on SQLite with a needle of three characters or more: the
/// FTS5 `trigram` table, matched with `GLOB`.
fn candidates_sqlite(needle: &str) -> Expr {
    let pattern = format!("*{}*", escape_glob(needle));
    Expr::cust_with_values(
        "u.rowid IN (SELECT rowid FROM users_search WHERE username GLOB ? \
         UNION SELECT rowid FROM users_search WHERE display_name_search GLOB ?)",
        [pattern.clone(), pattern],
    )
}

/// The users matching `needle` with `LIKE`: PostgreSQL's `pg_trgm` GIN indexes serve it, and
/// SQLite scans the (narrow) users table for needles too short for trigrams.
fn candidates_by_like(needle: &str) -> Expr {
    let pattern = format!("%{}%", escape_like(needle));
    let like = || LikeExpr::new(pattern.as_str()).escape('\\');
    Expr::col(("u", user::Column::Username))
        .like(like())
        .or(Expr::col(("u", user::Column::DisplayNameSearch)).like(like()))
}

/// The users table's columns, qualified by `alias`, in the entity's order.
pub fn user_columns(alias: &'static str) -> impl Iterator<Item = (&'static str, user::Column)> {
    user::Column::iter().map(move |column| (alias, column))
}

/// Escapes `GLOB` wildcards so user input only ever matches literally (`]` is literal
/// outside a bracket expression).
fn escape_glob(input: &str) -> String {
    let mut escaped = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '*' | '?' | '[' => {
                escaped.push('[');
                escaped.push(c);
                escaped.push(']');
            }
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Escapes `LIKE` wildcards so user input only ever matches literally.
fn escape_like(input: &str) -> String {
    let mut escaped = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Which side of the follow graph to list.
#[derive(Debug, Clone, Copy)]
pub enum FollowList {
    /// Users who follow the subject.
    Followers,
    /// Users the subject follows.
    Following,
}

/// A user in a follow list, with the follow's id (the list's sort key).
#[derive(Debug, FromQueryResult)]
pub struct FollowEntry {
    pub follow_id: Uuid,
    #[sea_orm(nested)]
    pub user: user::Model,
}

/// Up to `limit` of `subject`'s followers or followees whose follow is within `window`,
/// most recent follow first, without the accounts across a block from the viewer.
pub async fn list_follows(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    subject: Uuid,
    list: FollowList,
    window: Window,
    limit: u64,
) -> Result<Vec<FollowEntry>, DbErr> {
    let (subject_column, other_column) = match list {
        FollowList::Followers => (follow::Column::FolloweeId, follow::Column::FollowerId),
        FollowList::Following => (follow::Column::FollowerId, follow::Column::FolloweeId),
    };
    let mut select: SelectStatement = Query::select();
    select
        .expr_as(Expr::col(("f", follow::Column::Id)), "follow_id")
        .columns(user_columns("u"))
        .from_as(follow::Entity, "f")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "u",
            Expr::col(("u", user::Column::Id)).equals(("f", other_column)),
        )
        .and_where(Expr::col(("f", subject_column)).eq(subject))
        .and_where(Expr::cust(privacy::not_blocked_either_way(viewer, "u.id")));
    window.keyset(&mut select, ("f", "id"), limit);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    let mut rows = FollowEntry::find_by_statement(statement).all(db).await?;
    if window.oldest_first {
        rows.reverse();
    }
    Ok(rows)
}

/// Deletes an account and, through foreign keys, everything it owns, correcting the
/// counters of the users on the other side of its follows. Call inside a transaction.
///
/// The account's row is locked first: a concurrent follow of it then waits (its foreign
/// key check needs that row) and fails once the row is gone, so no follow can slip in
/// uncounted. The follows are deleted with `RETURNING`, so each counter is corrected
/// exactly for the rows this transaction removed, never for one a concurrent unfollow
/// already took away.
pub async fn delete_account(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    user::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?;
    let sides = [
        // The users this account followed lose a follower, and the reverse.
        (
            follow::Column::FollowerId,
            follow::Column::FolloweeId,
            user::Column::FollowersCount,
        ),
        (
            follow::Column::FolloweeId,
            follow::Column::FollowerId,
            user::Column::FollowingCount,
        ),
    ];
    for (own_column, other_column, counter) in sides {
        let delete = Query::delete()
            .from_table(follow::Entity)
            .and_where(Expr::col(own_column).eq(id))
            .returning_col(other_column)
            .to_owned();
        let rows = db.query_all_raw(backend.build(&delete)).await?;
        let mut others = Vec::with_capacity(rows.len());
        for row in rows {
            others.push(row.try_get::<Uuid>("", other_column.as_str())?);
        }
        others.sort();
        for chunk in others.chunks(500) {
            user::Entity::update_many()
                .col_expr(counter, Expr::col(counter).sub(1))
                .filter(user::Column::Id.is_in(chunk.iter().copied()))
                .exec(db)
                .await?;
        }
    }
    user::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Locks the account's row for the rest of the transaction and returns its avatar key:
/// `None` when the account is gone, `Some(None)` when it has no avatar.
pub async fn lock_avatar_key(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Option<String>>, DbErr> {
    Ok(user::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .map(|account| account.avatar_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(escape_like("plain"), "plain");
        assert_eq!(escape_glob("a*b?c[d]e_f%"), "a[*]b[?]c[[]d]e_f%");
    }
}
