//! Notifications; the single-use tickets with which a browser opens the stream; and the
//! leases by which processes sharing a PostgreSQL database count an account's streams.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuthTokens {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    RecipientId,
    ActorId,
    Kind,
    SubjectId,
    PostId,
    CommentId,
    CreatedAt,
    Read,
}

#[derive(DeriveIden)]
enum StreamLeases {
    Table,
    Id,
    UserId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum StreamTickets {
    Table,
    Digest,
    TokenId,
    ExpiresAt,
}

fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create()
        .name(name)
        .table(Alias::new(table))
        .to_owned();
    for column in columns {
        index.col(Alias::new(*column));
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // What they point to is deleted with them: the foreign keys cascade from the
        // recipient, the actor, the post and the comment.
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    // Time-ordered: the list and the stream sort on it.
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::RecipientId))
                    .col(uuid(Notifications::ActorId))
                    .col(string_len(Notifications::Kind, 24))
                    // What makes the notification one of a kind: the post liked, the
                    // comment, the post or comment mentioning; the actor for follows.
                    .col(uuid(Notifications::SubjectId))
                    .col(uuid_null(Notifications::PostId))
                    .col(uuid_null(Notifications::CommentId))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(boolean(Notifications::Read).default(false))
                    .foreign_key(&mut cascade(
                        (Notifications::Table, Notifications::RecipientId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Notifications::Table, Notifications::ActorId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Notifications::Table, Notifications::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Notifications::Table, Notifications::CommentId),
                        (Comments::Table, Comments::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One notification per action: a repeat, or a race of two, writes one.
        manager
            .create_index(
                index(
                    "idx_notifications_once",
                    "notifications",
                    &["recipient_id", "kind", "actor_id", "subject_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        // The list, newest first, all or unread only.
        manager
            .create_index(index(
                "idx_notifications_recipient_id",
                "notifications",
                &["recipient_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_notifications_recipient_read_id",
                "notifications",
                &["recipient_id", "read", "id"],
            ))
            .await?;
        // The foreign keys' deletes (an account, a post or a comment going).
        for column in ["actor_id", "post_id", "comment_id"] {
            manager
                .create_index(index(
                    &format!("idx_notifications_{column}"),
                    "notifications",
                    &[column],
                ))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(StreamTickets::Table)
                    // The SHA-256 of the ticket, as for tokens: a leak of the table opens
                    // no stream.
                    .col(string_len(StreamTickets::Digest, 64).primary_key())
                    .col(uuid(StreamTickets::TokenId))
                    .col(timestamp_with_time_zone(StreamTickets::ExpiresAt))
                    .foreign_key(&mut cascade(
                        (StreamTickets::Table, StreamTickets::TokenId),
                        (AuthTokens::Table, AuthTokens::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_stream_tickets_expires_at",
                "stream_tickets",
                &["expires_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_stream_tickets_token_id",
                "stream_tickets",
                &["token_id"],
            ))
            .await?;

        // One row per open stream, renewed while it lasts (used on PostgreSQL only).
        manager
            .create_table(
                Table::create()
                    .table(StreamLeases::Table)
                    .col(pk_uuid(StreamLeases::Id))
                    .col(uuid(StreamLeases::UserId))
                    .col(timestamp_with_time_zone(StreamLeases::ExpiresAt))
                    .foreign_key(&mut cascade(
                        (StreamLeases::Table, StreamLeases::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_stream_leases_user_id",
                "stream_leases",
                &["user_id", "expires_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["stream_leases", "stream_tickets", "notifications"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
