//! `?cursor=` values: anything that decodes is a cursor the server could have issued.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roost::fuzzing::decode_cursor;
use roost::pagination::encode_cursor;

fuzz_target!(|cursor: &str| {
    if let Some(parts) = decode_cursor(cursor) {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        assert_eq!(encode_cursor(&parts), cursor, "accepted a non-canonical cursor");
    }
});
