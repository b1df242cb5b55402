//! Posts and everything hanging off them: hashtags, the post lists (feed, tag, author,
//! search, likes), likes and comments.

pub mod entity;
