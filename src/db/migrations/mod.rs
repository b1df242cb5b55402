//! Versioned schema migrations, written once in SeaORM's schema builder so the same
//! definitions produce the right DDL on SQLite and on PostgreSQL. Applied by `roost serve`
//! and `roost migrate`; never edit one that has shipped, add the next.

use sea_orm_migration::prelude::*;

mod m0001_accounts;
mod m0002_profiles_follows;
mod m0003_posts;
mod m0004_scheduled_posts;
mod m0005_privacy;
mod m0006_notifications;
mod m0007_oauth;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_accounts::Migration),
            Box::new(m0002_profiles_follows::Migration),
            Box::new(m0003_posts::Migration),
            Box::new(m0004_scheduled_posts::Migration),
            Box::new(m0005_privacy::Migration),
            Box::new(m0006_notifications::Migration),
            Box::new(m0007_oauth::Migration),
        ]
    }
}
