//! The Mastodon-compatible client API, on its own listener: one file per area.

mod listener;
mod notifications;
mod statuses;
mod streaming;
