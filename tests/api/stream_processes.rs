//! The stream across two server processes sharing one PostgreSQL database.
