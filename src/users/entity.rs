//! The `users` and `follows` tables, and the other relations between two accounts:
//! `follow_requests`, `blocks` and `mutes`.

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Lower-cased.
        pub email: String,
        /// Lower-cased.
        pub username: String,
        /// Argon2id PHC string.
        pub password_hash: String,
        pub display_name: String,
        pub bio: String,
        pub location: String,
        pub website: String,
        /// Storage key of the avatar image, if any.
        pub avatar_key: Option<String>,
        pub created_at: DateTimeUtc,
        pub followers_count: i64,
        pub following_count: i64,
        pub posts_count: i64,
        /// `display_name` lower-cased, for search.
        pub display_name_search: String,
        /// Follows need the account's approval, and its posts are for followers only.
        pub locked: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod follow {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "follows")]
    pub struct Model {
        /// Time-ordered; lists sort on it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub follower_id: Uuid,
        pub followee_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod follow_request {
    use sea_orm::entity::prelude::*;

    /// `requester_id` asks to follow the locked account `target_id`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "follow_requests")]
    pub struct Model {
        /// Time-ordered; the list of requests is oldest first by it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub requester_id: Uuid,
        pub target_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod block {
    use sea_orm::entity::prelude::*;

    /// `blocker_id` blocks `blocked_id`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "blocks")]
    pub struct Model {
        /// Time-ordered; the list of blocks is most recent first by it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub blocker_id: Uuid,
        pub blocked_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod mute {
    use sea_orm::entity::prelude::*;

    /// `muter_id` mutes `muted_id`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mutes")]
    pub struct Model {
        /// Time-ordered; the list of mutes is most recent first by it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub muter_id: Uuid,
        pub muted_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
