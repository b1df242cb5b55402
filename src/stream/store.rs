//! Queries of the stream: who receives a post's events (by the visibility rule, and on the
//! public streams by blocks and mutes), the live tokens among the streams', browser
//! tickets, and publishing signals on PostgreSQL.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Statement,
};
use uuid::Uuid;

use super::{CHANNEL, Signal};
use crate::auth::entity::token;
use crate::posts::entity::like;
use crate::privacy;

/// The most a `pg_notify` payload carries here (PostgreSQL's limit is 8,000 bytes).
const MAX_PAYLOAD: usize = 7_000;

/// Sends `signals` to every process listening on [`CHANNEL`], as JSON arrays small enough
/// for one notification each.
pub async fn notify(db: &impl ConnectionTrait, signals: &[Signal]) -> Result<(), DbErr> {
    let mut batches: Vec<Vec<String>> = vec![Vec::new()];
    let mut size = 0;
    for signal in signals {
        let json =
            serde_json::to_string(signal).map_err(|error| DbErr::Custom(error.to_string()))?;
        if size + json.len() + 1 > MAX_PAYLOAD && !batches.last().is_some_and(Vec::is_empty) {
            batches.push(Vec::new());
            size = 0;
        }
        size += json.len() + 1;
        batches.last_mut().expect("one batch").push(json);
    }
    for batch in batches {
        let payload = format!("[{}]", batch.join(","));
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Who receives the events of the post `post` by `author`: the author and their followers
/// for whom the post belongs in the home feed by the rule ([`privacy::post_listed_to`]:
/// not across a block, not muted). Nobody when the post is gone.
pub async fn post_recipients(
    db: &impl ConnectionTrait,
    post: Uuid,
    author: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let candidates = Query::select()
        .expr_as(Expr::val(author), "id")
        .union(
            sea_orm::sea_query::UnionType::All,
            Query::select()
                .expr_as(Expr::col(("f", "follower_id")), "id")
                .from_as("follows", "f")
                .and_where(Expr::col(("f", "followee_id")).eq(author))
                .to_owned(),
        )
        .to_owned();
    let select = Query::select()
        .column(("c", "id"))
        .from_subquery(candidates, "c")
        .join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            "posts",
            "p",
            Expr::col(("p", "id")).eq(post),
        )
        .and_where(Expr::cust(privacy::post_listed_to("c.id", "p")))
        .to_owned();
    ids(db, db.get_database_backend().build(&select)).await
}

/// Who received the events of a post by `author` that is now deleted: the author and the
/// followers whose feed shows the author's posts ([`privacy::reaches`]).
pub async fn feed_recipients(db: &impl ConnectionTrait, author: Uuid) -> Result<Vec<Uuid>, DbErr> {
    let select = Query::select()
        .expr_as(Expr::col(("f", "follower_id")), "id")
        .from_as("follows", "f")
        .and_where(Expr::col(("f", "followee_id")).eq(author))
        .and_where(Expr::cust(privacy::reaches(
            "f.follower_id",
            "f.followee_id",
        )))
        .to_owned();
    let mut recipients = ids(db, db.get_database_backend().build(&select)).await?;
    recipients.push(author);
    Ok(recipients)
}

/// Which of `listeners` the posts of `author` reach on the public streams: those not
/// across a block from the author and not muting them ([`privacy::reaches`]).
pub async fn reached_by(
    db: &impl ConnectionTrait,
    author: Uuid,
    listeners: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut reached = HashSet::new();
    for chunk in listeners.chunks(500) {
        let select = Query::select()
            .expr_as(Expr::col(("l", "id")), "id")
            .from_as("users", "l")
            .join_as(
                sea_orm::sea_query::JoinType::InnerJoin,
                "users",
                "a",
                Expr::col(("a", "id")).eq(author),
            )
            .and_where(Expr::col(("l", "id")).is_in(chunk.iter().copied()))
            .and_where(Expr::cust(privacy::reaches("l.id", "a.id")))
            .to_owned();
        reached.extend(ids(db, db.get_database_backend().build(&select)).await?);
    }
    Ok(reached)
}

/// The most posts of a deleted account whose deletion the streams are told of.
const GONE_POSTS_TOLD: u64 = 1_000;

/// The ids of `author`'s most recent posts (at most [`GONE_POSTS_TOLD`]): those a
/// stream may be showing when the account is deleted.
pub async fn recent_posts_of(db: &impl ConnectionTrait, author: Uuid) -> Result<Vec<Uuid>, DbErr> {
    let select = Query::select()
        .column(("p", "id"))
        .from_as("posts", "p")
        .and_where(Expr::col(("p", "author_id")).eq(author))
        .order_by(("p", "id"), sea_orm::sea_query::Order::Desc)
        .limit(GONE_POSTS_TOLD)
        .to_owned();
    ids(db, db.get_database_backend().build(&select)).await
}

async fn ids(db: &impl ConnectionTrait, statement: Statement) -> Result<Vec<Uuid>, DbErr> {
    let rows = db.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect()
}

/// Which of `users` like `post`.
pub async fn likers_among(
    db: &impl ConnectionTrait,
    post: Uuid,
    users: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut likers = HashSet::new();
    for chunk in users.chunks(500) {
        let found: Vec<Uuid> = like::Entity::find()
            .select_only()
            .column(like::Column::UserId)
            .filter(like::Column::PostId.eq(post))
            .filter(like::Column::UserId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        likers.extend(found);
    }
    Ok(likers)
}

/// The tokens among `tokens` that still exist and have not expired at `now`.
pub async fn live_tokens(
    db: &impl ConnectionTrait,
    tokens: &[Uuid],
    now: DateTime<Utc>,
) -> Result<HashSet<Uuid>, DbErr> {
    let mut live = HashSet::new();
    for chunk in tokens.chunks(500) {
        let found: Vec<Uuid> = token::Entity::find()
            .select_only()
            .column(token::Column::Id)
            .filter(token::Column::Id.is_in(chunk.iter().copied()))
            .filter(token::Column::ExpiresAt.gt(now))
            .into_tuple()
            .all(db)
            .await?;
        live.extend(found);
    }
    Ok(live)
}

pub mod ticket {
    use sea_orm::entity::prelude::*;

    /// A single-use ticket to open the stream as the token `token_id`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "stream_tickets")]
    pub struct Model {
        /// The SHA-256 of the ticket, in hex.
        #[sea_orm(primary_key, auto_increment = false)]
        pub digest: String,
        pub token_id: Uuid,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Stores a ticket for `token_id`, and forgets tickets that expired before `now`.
pub async fn insert_ticket(
    db: &impl ConnectionTrait,
    digest: String,
    token_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    ticket::Entity::delete_many()
        .filter(ticket::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    ticket::Entity::insert(ticket::ActiveModel {
        digest: Set(digest),
        token_id: Set(token_id),
        expires_at: Set(expires_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Uses up the ticket with this digest: the token it was issued for, if it existed and had
/// not expired at `now`. Of two uses, one finds it.
pub async fn redeem_ticket(
    db: &impl ConnectionTrait,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<Option<token::Model>, DbErr> {
    let delete = Query::delete()
        .from_table(ticket::Entity)
        .and_where(Expr::col(ticket::Column::Digest).eq(digest))
        .returning(Query::returning().columns([ticket::Column::TokenId, ticket::Column::ExpiresAt]))
        .to_owned();
    let backend = db.get_database_backend();
    let Some(row) = db.query_one_raw(backend.build(&delete)).await? else {
        return Ok(None);
    };
    let token_id: Uuid = row.try_get("", "token_id")?;
    let expires_at: DateTime<Utc> = row.try_get("", "expires_at")?;
    if expires_at <= now {
        return Ok(None);
    }
    token::Entity::find_by_id(token_id)
        .filter(token::Column::ExpiresAt.gt(now))
        .one(db)
        .await
}

/// Takes a lease for a stream of `user_id` unless the account holds
/// [`MAX_STREAMS_PER_ACCOUNT`](super::MAX_STREAMS_PER_ACCOUNT) live ones already (on
/// PostgreSQL, across every process); returns whether it was taken. The account's row is
/// locked meanwhile, so that two processes opening streams at once count one after the
/// other; expired leases (of a process that died) are cleared on the way.
///
/// `ended` are leases of this process's streams that ended meanwhile: they are released
/// first, in the same transaction, so that a client reopening a stream it just closed is
/// not counted twice.
pub async fn take_lease(
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    lease: Uuid,
    ended: &[Uuid],
) -> Result<bool, DbErr> {
    let ttl = super::LEASE_TTL.as_secs() as i64;
    let max = super::MAX_STREAMS_PER_ACCOUNT as i64;
    let ended = ended.to_vec();
    crate::db::write_transaction(db, move |transaction| {
        let ended = ended.clone();
        Box::pin(async move {
            release_leases(transaction, &ended).await?;
            let run = |sql: &str, values: Vec<sea_orm::Value>| {
                Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
            };
            transaction
                .execute_raw(run(
                    "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE",
                    vec![user_id.into()],
                ))
                .await?;
            transaction
                .execute_raw(run(
                    "DELETE FROM stream_leases WHERE user_id = $1 AND expires_at <= now()",
                    vec![user_id.into()],
                ))
                .await?;
            let held = transaction
                .query_one_raw(run(
                    "SELECT COUNT(*) AS held FROM stream_leases WHERE user_id = $1",
                    vec![user_id.into()],
                ))
                .await?
                .map(|row| row.try_get::<i64>("", "held"))
                .transpose()?
                .unwrap_or(0);
            if held >= max {
                return Ok(false);
            }
            transaction
                .execute_raw(run(
                    "INSERT INTO stream_leases (id, user_id, expires_at) \
                     VALUES ($1, $2, now() + make_interval(secs => $3))",
                    vec![lease.into(), user_id.into(), ttl.into()],
                ))
                .await?;
            Ok(true)
        })
    })
    .await
}

/// Extends `leases` by another [`LEASE_TTL`](super::LEASE_TTL).
pub async fn renew_leases(db: &impl ConnectionTrait, leases: &[Uuid]) -> Result<(), DbErr> {
    let ttl = super::LEASE_TTL.as_secs() as i64;
    for chunk in leases.chunks(500) {
        let update = Query::update()
            .table(lease::Entity)
            .value(
                lease::Column::ExpiresAt,
                Expr::cust_with_values("now() + make_interval(secs => $1)", [ttl]),
            )
            .and_where(Expr::col(lease::Column::Id).is_in(chunk.iter().copied()))
            .to_owned();
        db.execute(&update).await?;
    }
    Ok(())
}

/// Releases `leases` (their streams ended).
pub async fn release_leases(db: &impl ConnectionTrait, leases: &[Uuid]) -> Result<(), DbErr> {
    for chunk in leases.chunks(500) {
        lease::Entity::delete_many()
            .filter(lease::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

pub mod lease {
    use sea_orm::entity::prelude::*;

    /// An open stream of `user_id` on some process, counted against the account's limit
    /// until it is released or expires.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "stream_leases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
