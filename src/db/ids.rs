//! Row ids: UUIDv7s issued so that their first 63 bits are unique, and the 64-bit numbers
//! those bits make (the ids of the Mastodon-compatible API).
//!
//! A UUIDv7 begins with 48 bits of Unix milliseconds, then the version (4 bits), 12 bits
//! of `rand_a`, the variant (2 bits) and 62 bits of `rand_b`. The *number* of an id is
//!
//! ```text
//! (milliseconds since 2000-01-01) << 21  |  rand_a << 9  |  the first 9 bits of rand_b
//! ```
//!
//! 42 bits of time (enough until 2139) and 21 of what follows: a positive `i64` that sorts
//! exactly as the ids do, since it is their leading bits. Its inverse is a range of ids,
//! `[lowest(n), lowest(n + 1))`, so a number is found through the primary key without a
//! column of its own, and `max_id`-style bounds become plain id bounds.
//!
//! Numbers are unique because ids are issued so: within a process, `rand_a` counts the ids
//! issued in the same millisecond (4,096 of them; the next borrow the following
//! millisecond), and the 9 bits of `rand_b` are the process's *node*, which PostgreSQL
//! deals out from a sequence at start-up (512 processes would have to start while one
//! runs before two shared one). On SQLite one process writes. Ids written before this
//! scheme (plain random `rand_a`) keep numbers that may, rarely, coincide for rows of one
//! table made within the same millisecond; the first of them is the one a number finds.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};

use uuid::Uuid;

/// 2000-01-01T00:00:00Z in Unix milliseconds: where the numbers' clock starts.
const EPOCH_MS: u64 = 946_684_800_000;
const TIME_BITS: u32 = 42;
const COUNTER_BITS: u32 = 12;
const NODE_BITS: u32 = 9;
const LOW_BITS: u32 = COUNTER_BITS + NODE_BITS;

/// This process's node (see the module documentation).
static NODE: AtomicU16 = AtomicU16::new(0);
/// The millisecond and count of the last id issued.
static LAST: Mutex<(u64, u16)> = Mutex::new((0, 0));

/// Sets this process's node; only its low 9 bits count.
pub fn set_node(node: u64) {
    NODE.store((node % (1 << NODE_BITS)) as u16, Ordering::Relaxed);
}

/// A new id: issued later in this process, it compares greater, and its number is unique.
pub fn new_id() -> Uuid {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64);
    let (millis, counter) = {
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *last = if now > last.0 {
            (now, 0)
        } else if last.1 + 1 < (1 << COUNTER_BITS) {
            (last.0, last.1 + 1)
        } else {
            (last.0 + 1, 0)
        };
        *last
    };
    let node = NODE.load(Ordering::Relaxed);
    // Uniqueness comes from the counter and the node; these bits only make ids unguessable.
    let random = getrandom::u64().unwrap_or_default();
    // rand_a is the counter; rand_b starts with the node, then 53 random bits.
    let rand_b = (u64::from(node) << 53) | (random >> (64 - 53));
    let mut bytes = [0u8; 10];
    bytes[..2].copy_from_slice(&counter.to_be_bytes());
    bytes[2..].copy_from_slice(&rand_b.to_be_bytes());
    // The builder keeps rand_a's low 12 bits and rand_b's low 62, where they belong.
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// The id's 64-bit number (see the module documentation).
pub fn number(id: Uuid) -> i64 {
    let bits = id.as_u128();
    let millis = (bits >> 80) as u64;
    let rand_a = ((bits >> 64) & 0xFFF) as u64;
    let rand_b_head = ((bits >> 53) & 0x1FF) as u64;
    let time = millis.saturating_sub(EPOCH_MS) & ((1 << TIME_BITS) - 1);
    ((time << LOW_BITS) | (rand_a << NODE_BITS) | rand_b_head) as i64
}

/// The smallest id whose number is `number` (or would be): the lower end of its range.
/// Negative numbers map to the smallest id of all.
pub fn lowest(number: i64) -> Uuid {
    let Ok(number) = u64::try_from(number) else {
        return Uuid::nil();
    };
    let millis = (number >> LOW_BITS) + EPOCH_MS;
    let rand_a = (number >> NODE_BITS) & 0xFFF;
    let rand_b_head = number & 0x1FF;
    let bits = (u128::from(millis) << 80)
        | (0x7 << 76)
        | (u128::from(rand_a) << 64)
        | (0b10 << 62)
        | (u128::from(rand_b_head) << 53);
    Uuid::from_u128(bits)
}

/// The ids whose number is `number`: `lowest(number) <= id < end`, where `end` is `None`
/// for the largest number.
pub fn range(number: i64) -> (Uuid, Option<Uuid>) {
    (lowest(number), number.checked_add(1).map(lowest))
}

/// Parses a number as clients send it: decimal digits, fitting an `i64`.
pub fn parse_number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_issued_in_one_millisecond_have_distinct_increasing_numbers() {
        let ids: Vec<Uuid> = (0..10_000).map(|_| new_id()).collect();
        let numbers: Vec<i64> = ids.iter().map(|id| number(*id)).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        for pair in numbers.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
        }
        assert!(numbers.iter().all(|n| *n > 0));
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
    }

    #[test]
    fn a_number_names_the_range_its_id_is_in() {
        for id in (0..1000).map(|_| new_id()) {
            let n = number(id);
            let (low, high) = range(n);
            assert!(low <= id && Some(id) < high, "{id} outside its range");
            assert_eq!(number(low), n);
            assert_eq!(parse_number(&n.to_string()), Some(n));
        }
    }

    #[test]
    fn numbers_sort_as_the_ids_do_across_nodes() {
        let earlier =
            uuid::Builder::from_unix_timestamp_millis(1_700_000_000_000, &[0xFF; 10]).into_uuid();
        let later =
            uuid::Builder::from_unix_timestamp_millis(1_700_000_000_001, &[0; 10]).into_uuid();
        assert!(number(earlier) < number(later));
        assert!(number(later) < i64::MAX);
    }

    #[test]
    fn only_digit_strings_that_fit_are_numbers() {
        for bad in ["", "-1", "1.0", "abc", "99999999999999999999", " 1", "+1"] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
        assert_eq!(range(i64::MAX).1, None);
        assert_eq!(lowest(-5), Uuid::nil());
    }
}
