//! Profile counters, the follow graph, and the indexes behind user search.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    FollowersCount,
    FollowingCount,
    PostsCount,
    DisplayNameSearch,
}

#[derive(DeriveIden)]
enum Follows {
    Table,
    Id,
    FollowerId,
    FolloweeId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Counters are kept exact by updating them in the same transaction as the rows
        // they count, with atomic `SET n = n + 1` statements.
        for column in [
            big_integer(Users::FollowersCount).default(0).to_owned(),
            big_integer(Users::FollowingCount).default(0).to_owned(),
            big_integer(Users::PostsCount).default(0).to_owned(),
            // The display name lower-cased by the application (Unicode-aware, the same on
            // both backends), which user search matches against.
            string_len(Users::DisplayNameSearch, 200)
                .default("")
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Follows::Table)
                    // Time-ordered: lists are "most recent follow first" by this id.
                    .col(pk_uuid(Follows::Id))
                    .col(uuid(Follows::FollowerId))
                    .col(uuid(Follows::FolloweeId))
                    .col(timestamp_with_time_zone(Follows::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Follows::Table, Follows::FollowerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Follows::Table, Follows::FolloweeId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One follow per pair; also serves "whom does X follow", newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_follows_follower_followee")
                    .table(Follows::Table)
                    .col(Follows::FollowerId)
                    .col(Follows::FolloweeId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_follows_follower_id")
                    .table(Follows::Table)
                    .col(Follows::FollowerId)
                    .col(Follows::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_follows_followee_id")
                    .table(Follows::Table)
                    .col(Follows::FolloweeId)
                    .col(Follows::Id)
                    .to_owned(),
            )
            .await?;

        // Substring search on username and display name.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                // Trigram GIN indexes answer `LIKE '%q%'` without scanning the table.
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_users_username_trgm ON users USING gin (username gin_trgm_ops)",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_users_display_name_trgm ON users USING gin (display_name_search gin_trgm_ops)",
                )
                .await?;
            }
            _ => {
                // An FTS5 trigram index over the same two columns, kept in step by triggers;
                // it answers `LIKE '%q%'` for patterns of three or more characters.
                for statement in [
                    "CREATE VIRTUAL TABLE users_search USING fts5(username, display_name_search, \
                     content='users', tokenize='trigram')",
                    "INSERT INTO users_search(rowid, username, display_name_search) \
                     SELECT rowid, username, display_name_search FROM users",
                    "CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN \
                     INSERT INTO users_search(rowid, username, display_name_search) \
                     VALUES (new.rowid, new.username, new.display_name_search); END",
                    "CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN \
                     INSERT INTO users_search(users_search, rowid, username, display_name_search) \
                     VALUES ('delete', old.rowid, old.username, old.display_name_search); END",
                    "CREATE TRIGGER users_search_update AFTER UPDATE OF username, display_name_search ON users BEGIN \
                     INSERT INTO users_search(users_search, rowid, username, display_name_search) \
                     VALUES ('delete', old.rowid, old.username, old.display_name_search); \
                     INSERT INTO users_search(rowid, username, display_name_search) \
                     VALUES (new.rowid, new.username, new.display_name_search); END",
                ] {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        // Listing all users newest first walks the primary key; no extra index needed.
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            for statement in [
                "DROP TRIGGER IF EXISTS users_search_insert",
                "DROP TRIGGER IF EXISTS users_search_delete",
                "DROP TRIGGER IF EXISTS users_search_update",
                "DROP TABLE IF EXISTS users_search",
            ] {
                db.execute_unprepared(statement).await?;
            }
        } else {
            db.execute_unprepared("DROP INDEX IF EXISTS idx_users_username_trgm")
                .await?;
            db.execute_unprepared("DROP INDEX IF EXISTS idx_users_display_name_trgm")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Follows::Table).to_owned())
            .await?;
        for column in [
            Users::FollowersCount.into_iden(),
            Users::FollowingCount.into_iden(),
            Users::PostsCount.into_iden(),
            Users::DisplayNameSearch.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
