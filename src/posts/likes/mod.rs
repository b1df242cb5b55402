//! Likes: liking and unliking a post (idempotent), and who liked it. Like counts and the
//! viewer's `liked` are computed by the post queries, so a like is just its row.

pub mod routes;
pub mod service;
pub mod store;
