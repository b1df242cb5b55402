//! A Server-Sent Events client for the tests.
