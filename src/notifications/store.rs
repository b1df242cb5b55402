//! Queries on notifications: writing one under the visibility rule, withdrawing it, and
//! the one listing statement that the list, the unread count and the stream share.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter};
use uuid::Uuid;

use super::Kind;
use super::entity::{self as notification, Column};
use crate::auth::{Viewer, ViewerColumns};
use crate::db::new_id;
use crate::privacy::{self, VIEWER_ID};
use crate::stream::{self, Signal};
use crate::users::entity::user;

/// A notification to write: `actor` did `kind` to `recipient`, about `post` and `comment`.
#[derive(Debug, Clone, Copy)]
pub struct Notice {
    pub kind: Kind,
    pub recipient: Uuid,
    pub actor: Uuid,
    pub post: Option<Uuid>,
    pub comment: Option<Uuid>,
}

impl Notice {
    /// `follow`, `follow_request` or `follow_accepted`: about the accounts alone.
    pub fn account(kind: Kind, recipient: Uuid, actor: Uuid) -> Self {
        Self {
            kind,
            recipient,
            actor,
            post: None,
            comment: None,
        }
    }

    /// `like`, `mention` (in a post) or `published`: about a post.
    pub fn post(kind: Kind, recipient: Uuid, actor: Uuid, post: Uuid) -> Self {
        Self {
            post: Some(post),
            ..Self::account(kind, recipient, actor)
        }
    }

    /// `comment`, or `mention` in a comment: about a comment on `post`.
    pub fn comment(kind: Kind, recipient: Uuid, actor: Uuid, post: Uuid, comment: Uuid) -> Self {
        Self {
            comment: Some(comment),
            ..Self::post(kind, recipient, actor, post)
        }
    }

    /// With the recipient, the kind and the actor, what makes the notification one of a
    /// kind: the comment, else the post, else the actor.
    fn subject(&self) -> Uuid {
        self.comment.or(self.post).unwrap_or(self.actor)
    }
}

/// Writes the notification of `notice` unless the rule forbids it, once (a repeat, or a
/// race of two, leaves one); returns whether it was written. Call in the transaction of
/// the action it tells of.
///
/// The rule is checked by the insert itself, so it sees what the transaction sees: nobody
/// is notified of their own action (except `published`, which names its author), across a
/// block, by an account they mute, or of a post they cannot see. A new notification is
/// announced to the recipient's streams once the request that wrote it is done.
pub async fn notify(
    db: &impl ConnectionTrait,
    notice: Notice,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let id = new_id();
    let source = Query::select()
        .expr_as(Expr::val(id), "id")
        .expr_as(Expr::val(notice.recipient), "recipient_id")
        .expr_as(Expr::val(notice.actor), "actor_id")
        .expr_as(Expr::val(notice.kind.as_str()), "kind")
        .expr_as(Expr::val(notice.subject()), "subject_id")
        .expr_as(Expr::val(notice.post), "post_id")
        .expr_as(Expr::val(notice.comment), "comment_id")
        .expr_as(Expr::val(now), "created_at")
        .expr_as(Expr::val(false), "read")
        .to_owned();
    let columns = [
        Column::Id,
        Column::RecipientId,
        Column::ActorId,
        Column::Kind,
        Column::SubjectId,
        Column::PostId,
        Column::CommentId,
        Column::CreatedAt,
        Column::Read,
    ];
    let mut select = Query::select();
    select
        .columns(columns.map(|column| ("c", column)))
        .from_subquery(source, "c")
        .and_where(Expr::cust(privacy::reaches("c.recipient_id", "c.actor_id")))
        .and_where(Expr::cust(format!(
            "(c.post_id IS NULL OR EXISTS (SELECT 1 FROM posts np WHERE np.id = c.post_id AND {}))",
            privacy::post_visible_to("c.recipient_id", "np")
        )));
    if notice.kind != Kind::Published {
        select.and_where(Expr::cust("c.recipient_id <> c.actor_id"));
    }
    let insert = Query::insert()
        .into_table(notification::Entity)
        .columns(columns)
        .select_from(select)
        .map_err(|error| DbErr::Custom(error.to_string()))?
        .on_conflict(
            OnConflict::columns([
                Column::RecipientId,
                Column::Kind,
                Column::ActorId,
                Column::SubjectId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .to_owned();
    let written = db.execute(&insert).await?.rows_affected() > 0;
    if written {
        stream::emit(Signal::Notification {
            id,
            recipient: notice.recipient,
        });
    }
    Ok(written)
}

/// Removes the notification that `notice` wrote, if any: the action was undone.
pub async fn withdraw(db: &impl ConnectionTrait, notice: Notice) -> Result<(), DbErr> {
    notification::Entity::delete_many()
        .filter(Column::RecipientId.eq(notice.recipient))
        .filter(Column::Kind.eq(notice.kind.as_str()))
        .filter(Column::ActorId.eq(notice.actor))
        .filter(Column::SubjectId.eq(notice.subject()))
        .exec(db)
        .await?;
    Ok(())
}

/// Notifies the accounts that the new post `post` (or its new comment `comment`) by
/// `actor` mentions, in order. Each is written under the rule of [`notify`]: only an
/// account that may see the post is notified.
pub async fn notify_mentions(
    db: &impl ConnectionTrait,
    actor: Uuid,
    post: Uuid,
    comment: Option<Uuid>,
    mentioned: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for &recipient in mentioned {
        let notice = match comment {
            Some(comment) => Notice::comment(Kind::Mention, recipient, actor, post, comment),
            None => Notice::post(Kind::Mention, recipient, actor, post),
        };
        notify(db, notice, now).await?;
    }
    Ok(())
}

/// After an edit of the post `post` (or its comment `comment`): withdraws the mentions of
/// the accounts it no longer mentions and notifies those it now mentions (an account
/// mentioned before keeps its notification, as it was).
pub async fn renotify_mentions(
    db: &impl ConnectionTrait,
    actor: Uuid,
    post: Uuid,
    comment: Option<Uuid>,
    mentioned: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut stale =
        notification::Entity::delete_many().filter(Column::Kind.eq(Kind::Mention.as_str()));
    stale = match comment {
        Some(comment) => stale.filter(Column::CommentId.eq(comment)),
        None => stale
            .filter(Column::PostId.eq(post))
            .filter(Column::CommentId.is_null()),
    };
    if !mentioned.is_empty() {
        stale = stale.filter(Column::RecipientId.is_not_in(mentioned.iter().copied()));
    }
    stale.exec(db).await?;
    notify_mentions(db, actor, post, comment, mentioned, now).await
}

/// Which of the viewer's notifications to read.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only these kinds.
    pub kinds: Option<Vec<Kind>>,
    /// Only read (`true`) or unread (`false`) ones.
    pub read: Option<bool>,
    /// Only this one.
    pub only: Option<Uuid>,
    /// Older than this one (newest first).
    pub before: Option<Uuid>,
    /// Newer than this one, oldest first (the stream's replay).
    pub since: Option<Uuid>,
    /// Created from this time on.
    pub not_before: Option<DateTime<Utc>>,
}

/// One notification with its actor's summary fields.
#[derive(Debug, Clone, FromQueryResult)]
pub struct NotificationRow {
    pub id: Uuid,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    pub post_id: Option<Uuid>,
    pub comment_id: Option<Uuid>,
    pub actor_id: Uuid,
    pub actor_username: String,
    pub actor_display_name: String,
    pub actor_avatar_key: Option<String>,
    #[sea_orm(nested)]
    pub viewer: ViewerColumns,
}

/// The viewer's notifications that the rule shows them ([`privacy::notification_shown`])
/// and `filter` selects: one statement on the `(recipient_id, id)` or `(recipient_id,
/// read, id)` index, with the viewer's token lookup and each actor joined in.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &ListFilter,
    limit: u64,
) -> Result<Vec<NotificationRow>, DbErr> {
    let mut select = Query::select();
    select
        .columns([
            ("n", Column::Id),
            ("n", Column::Kind),
            ("n", Column::CreatedAt),
            ("n", Column::Read),
            ("n", Column::PostId),
            ("n", Column::CommentId),
            ("n", Column::ActorId),
        ])
        .expr_as(Expr::col(("a", user::Column::Username)), "actor_username")
        .expr_as(
            Expr::col(("a", user::Column::DisplayName)),
            "actor_display_name",
        )
        .expr_as(
            Expr::col(("a", user::Column::AvatarKey)),
            "actor_avatar_key",
        )
        .from_as(notification::Entity, "n")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "a",
            Expr::col(("a", user::Column::Id)).equals(("n", Column::ActorId)),
        );
    shown_to_viewer(&mut select);
    if let Some(kinds) = &filter.kinds {
        select.and_where(
            Expr::col(("n", Column::Kind)).is_in(kinds.iter().map(|kind| kind.as_str())),
        );
    }
    if let Some(read) = filter.read {
        select.and_where(Expr::col(("n", Column::Read)).eq(read));
    }
    if let Some(only) = filter.only {
        select.and_where(Expr::col(("n", Column::Id)).eq(only));
    }
    if let Some(not_before) = filter.not_before {
        select.and_where(Expr::col(("n", Column::CreatedAt)).gte(not_before));
    }
    if let Some(before) = filter.before {
        select.and_where(Expr::col(("n", Column::Id)).lt(before));
    }
    let order = match filter.since {
        Some(since) => {
            select.and_where(Expr::col(("n", Column::Id)).gt(since));
            Order::Asc
        }
        None => Order::Desc,
    };
    select.order_by(("n", Column::Id), order).limit(limit);
    viewer.join_columns(&mut select);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    NotificationRow::find_by_statement(statement).all(db).await
}

/// Restricts `select` (over `notifications n`) to the viewer's notifications that the rule
/// shows them.
fn shown_to_viewer(select: &mut SelectStatement) {
    select
        .and_where(Expr::cust(format!("n.recipient_id = {VIEWER_ID}")))
        .and_where(Expr::cust(privacy::notification_shown("n")));
}

/// What [`unread_count`] found.
#[derive(Debug, FromQueryResult)]
pub struct UnreadCount {
    pub count: i64,
    #[sea_orm(nested)]
    pub viewer: ViewerColumns,
}

/// How many of the viewer's shown notifications are unread, with the token lookup: no row
/// when the token matched nothing.
pub async fn unread_count(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    kinds: Option<&[Kind]>,
) -> Result<Option<UnreadCount>, DbErr> {
    let mut count = Query::select();
    count
        .expr(Expr::cust("COUNT(*)"))
        .from_as(notification::Entity, "n")
        .and_where(Expr::col(("n", Column::Read)).eq(false));
    if let Some(kinds) = kinds {
        count.and_where(
            Expr::col(("n", Column::Kind)).is_in(kinds.iter().map(|kind| kind.as_str())),
        );
    }
    shown_to_viewer(&mut count);
    let mut select = Query::select();
    select
        .expr_as(
            Expr::SubQuery(
                None,
                Box::new(sea_orm::sea_query::SubQueryStatement::from(count)),
            ),
            "count",
        )
        .from_as("viewer", "v");
    Viewer::columns(&mut select);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    UnreadCount::find_by_statement(statement).one(db).await
}

/// Whether `id` is one of `recipient`'s notifications (shown or not).
pub async fn exists(db: &impl ConnectionTrait, recipient: Uuid, id: Uuid) -> Result<bool, DbErr> {
    Ok(notification::Entity::find_by_id(id)
        .filter(Column::RecipientId.eq(recipient))
        .one(db)
        .await?
        .is_some())
}

/// Marks `recipient`'s notifications up to `up_to` (all without it) read.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    recipient: Uuid,
    up_to: Option<Uuid>,
) -> Result<(), DbErr> {
    let mut update = notification::Entity::update_many()
        .col_expr(Column::Read, Expr::value(true))
        .filter(Column::RecipientId.eq(recipient))
        .filter(Column::Read.eq(false));
    if let Some(up_to) = up_to {
        update = update.filter(Column::Id.lte(up_to));
    }
    update.exec(db).await?;
    Ok(())
}

/// Deletes every notification of `recipient`.
pub async fn dismiss_all(db: &impl ConnectionTrait, recipient: Uuid) -> Result<(), DbErr> {
    notification::Entity::delete_many()
        .filter(Column::RecipientId.eq(recipient))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes `recipient`'s notification `id`; returns whether there was one.
pub async fn dismiss(db: &impl ConnectionTrait, recipient: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let deleted = notification::Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::RecipientId.eq(recipient))
        .exec(db)
        .await?
        .rows_affected;
    Ok(deleted > 0)
}
