//! Posts, their hashtags, media, likes, comments, idempotency keys and full-text search.

use sea_orm::DbBackend;
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
    AuthorId,
    Content,
    SearchText,
    CreatedAt,
    EditedAt,
}

#[derive(DeriveIden)]
enum PostTags {
    Table,
    PostId,
    Tag,
    Position,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    OwnerId,
    PostId,
    Position,
    FileKey,
    PreviewKey,
    Width,
    Height,
    Description,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Likes {
    Table,
    Id,
    PostId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
    PostId,
    AuthorId,
    Content,
    CreatedAt,
    EditedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    RequestHash,
    PostId,
    CreatedAt,
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

fn index(name: &str, table: impl IntoIden, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for column in columns {
        index.col(Alias::new(*column));
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Posts::Table)
                    // Time-ordered: every post list is newest first by this id.
                    .col(pk_uuid(Posts::Id))
                    .col(uuid(Posts::AuthorId))
                    .col(text(Posts::Content))
                    // The content's words, case-folded and space-separated: what full-text
                    // search indexes, so both backends split words exactly as the query is split.
                    .col(text(Posts::SearchText).default(""))
                    .col(timestamp_with_time_zone(Posts::CreatedAt))
                    .col(timestamp_with_time_zone_null(Posts::EditedAt))
                    .foreign_key(&mut cascade(
                        (Posts::Table, Posts::AuthorId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Author pages and the feed ("posts by any of these authors, newest first").
        manager
            .create_index(index(
                "idx_posts_author_id",
                Posts::Table,
                &["author_id", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostTags::Table)
                    .col(uuid(PostTags::PostId))
                    // Lower-cased, without `#`.
                    .col(text(PostTags::Tag))
                    // Order of first appearance in the post.
                    .col(integer(PostTags::Position))
                    .primary_key(Index::create().col(PostTags::PostId).col(PostTags::Tag))
                    .foreign_key(&mut cascade(
                        (PostTags::Table, PostTags::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Posts by tag, newest first, and tag counts.
        manager
            .create_index(index(
                "idx_post_tags_tag_post_id",
                PostTags::Table,
                &["tag", "post_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .col(pk_uuid(Media::Id))
                    .col(uuid(Media::OwnerId))
                    // Null until attached; then deleted with the post.
                    .col(uuid_null(Media::PostId))
                    .col(integer_null(Media::Position))
                    .col(string_len(Media::FileKey, 64))
                    .col(string_len(Media::PreviewKey, 64))
                    .col(integer(Media::Width))
                    .col(integer(Media::Height))
                    .col(text(Media::Description).default(""))
                    .col(timestamp_with_time_zone(Media::CreatedAt))
                    .foreign_key(&mut cascade(
                        (Media::Table, Media::OwnerId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Media::Table, Media::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_media_post_id",
                Media::Table,
                &["post_id", "position"],
            ))
            .await?;
        // The clean-up of never-attached uploads walks by age.
        manager
            .create_index(index("idx_media_created_at", Media::Table, &["created_at"]))
            .await?;
        manager
            .create_index(index("idx_media_owner_id", Media::Table, &["owner_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Likes::Table)
                    // Time-ordered: "most recently liked first".
                    .col(pk_uuid(Likes::Id))
                    .col(uuid(Likes::PostId))
                    .col(uuid(Likes::UserId))
                    .col(timestamp_with_time_zone(Likes::CreatedAt))
                    .foreign_key(&mut cascade(
                        (Likes::Table, Likes::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Likes::Table, Likes::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One like per user and post; also "who liked this post" and like counts.
        manager
            .create_index(
                index(
                    "idx_likes_post_id_user_id",
                    Likes::Table,
                    &["post_id", "user_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_likes_post_id_id",
                Likes::Table,
                &["post_id", "id"],
            ))
            .await?;
        // "Posts I liked", most recent like first.
        manager
            .create_index(index(
                "idx_likes_user_id_id",
                Likes::Table,
                &["user_id", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(pk_uuid(Comments::Id))
                    .col(uuid(Comments::PostId))
                    .col(uuid(Comments::AuthorId))
                    .col(text(Comments::Content))
                    .col(timestamp_with_time_zone(Comments::CreatedAt))
                    .col(timestamp_with_time_zone_null(Comments::EditedAt))
                    .foreign_key(&mut cascade(
                        (Comments::Table, Comments::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Comments::Table, Comments::AuthorId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A post's comments, oldest first, and comment counts.
        manager
            .create_index(index(
                "idx_comments_post_id_id",
                Comments::Table,
                &["post_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_comments_author_id",
                Comments::Table,
                &["author_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::UserId))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    // SHA-256 of the request body, to tell a retry from a different request.
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(uuid_null(IdempotencyKeys::PostId))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::UserId)
                            .col(IdempotencyKeys::Key),
                    )
                    .foreign_key(&mut cascade(
                        (IdempotencyKeys::Table, IdempotencyKeys::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (IdempotencyKeys::Table, IdempotencyKeys::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_idempotency_keys_created_at",
                IdempotencyKeys::Table,
                &["created_at"],
            ))
            .await?;

        // Full-text search on post content: every word of the query must occur as a word.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                // The `simple` configuration lower-cases words without stemming them.
                db.execute_unprepared(
                    "ALTER TABLE posts ADD COLUMN search tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
                )
                .await?;
                db.execute_unprepared("CREATE INDEX idx_posts_search ON posts USING gin (search)")
                    .await?;
            }
            _ => {
                for statement in [
                    "CREATE VIRTUAL TABLE posts_fts USING fts5(search_text, content='posts', \
                     tokenize='unicode61 remove_diacritics 0')",
                    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN \
                     INSERT INTO posts_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN \
                     INSERT INTO posts_fts(posts_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
                    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF search_text ON posts BEGIN \
                     INSERT INTO posts_fts(posts_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); \
                     INSERT INTO posts_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                ] {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            for statement in [
                "DROP TRIGGER IF EXISTS posts_fts_insert",
                "DROP TRIGGER IF EXISTS posts_fts_delete",
                "DROP TRIGGER IF EXISTS posts_fts_update",
                "DROP TABLE IF EXISTS posts_fts",
            ] {
                db.execute_unprepared(statement).await?;
            }
        }
        for table in [
            IdempotencyKeys::Table.into_iden(),
            Comments::Table.into_iden(),
            Likes::Table.into_iden(),
            Media::Table.into_iden(),
            PostTags::Table.into_iden(),
            Posts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
