//! go-yaml v2's "natural" ordering of mapping keys: letters after other characters, runs of digits
//! compared as numbers.

use std::cmp::Ordering;

/// Orders mapping keys. go-yaml's comparison is not a strict weak order for some digit mixes
/// ("a2", "a10", "a01"); kubectl's own output is then not deterministic (Go map iteration feeds the
/// sort), so any consistent order is as good as another.
pub(super) fn sorted_keys(mut keys: Vec<&String>) -> Vec<&String> {
    keys.sort_by(|a, b| natural_cmp(a, b));
    keys
}

/// go-yaml v2's ordering of mapping keys: letters after non-letters, digit runs compared as numbers.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if natural_less(a, b) {
        Ordering::Less
    } else if natural_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn natural_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let a_letter = ar[i].is_alphabetic();
        let b_letter = br[i].is_alphabetic();
        if a_letter && b_letter {
            return ar[i] < br[i];
        }
        if a_letter || b_letter {
            return b_letter;
        }
        let mut a_number: i64 = 0;
        let mut b_number: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            // A zero inside a longer number (e.g. "10" vs "1a") compares as part of that number.
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    a_number = 1;
                    b_number = 1;
                    break;
                }
            }
        }
        let mut a_end = i;
        while a_end < ar.len() && ar[a_end].is_ascii_digit() {
            a_number = a_number
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[a_end] as u8 - b'0'));
            a_end += 1;
        }
        let mut b_end = i;
        while b_end < br.len() && br[b_end].is_ascii_digit() {
            b_number = b_number
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[b_end] as u8 - b'0'));
            b_end += 1;
        }
        if a_number != b_number {
            return a_number < b_number;
        }
        if a_end != b_end {
            return a_end < b_end;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_like_go_yaml() {
        // go-yaml's comparison is not transitive for mixes like "a2"/"a10"/"a01"; those are left out.
        let mut keys = vec![
            "a", "A", "_a", "1", "10", "9", "-a", "a1", "a10", "a-b", "a_b", "ab", "a.b", "x9",
            "x09", "x010",
        ];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            keys,
            vec![
                "-a", "_a", "1", "9", "10", "A", "a", "a-b", "a.b", "a_b", "a1", "a10", "ab", "x9",
                "x09", "x010"
            ]
        );
    }
}
