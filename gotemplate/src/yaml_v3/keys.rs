//! go-yaml v3's order of string map keys: runs of digits compare as numbers, and at the first
//! difference a letter sorts after a non-letter, except right after a digit, where it sorts
//! before (so `a1b` < `a1_` but `a_` < `a1`).

/// Sorts map entries by key. The comparison is not a strict weak order for some mixes of digits
/// (Go sorts the map's random iteration order with it, so Go's own output is not fixed there);
/// a merge sort gives a deterministic answer and, unlike the standard sort, cannot panic on such
/// a comparison.
pub(super) fn sort_entries<T>(entries: &mut Vec<(String, T)>) {
    let taken = std::mem::take(entries);
    *entries = merge_sort(taken);
}

fn merge_sort<T>(mut items: Vec<(String, T)>) -> Vec<(String, T)> {
    if items.len() <= 1 {
        return items;
    }
    let right = items.split_off(items.len() / 2);
    let (left, right) = (merge_sort(items), merge_sort(right));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_right = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => key_less(&r.0, &l.0),
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_right {
            right.next()
        } else {
            left.next()
        };
        out.extend(next);
    }
    out
}

/// Whether key `a` sorts before key `b`.
pub(super) fn key_less(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut after_digit = false;
    for i in 0..a.len().min(b.len()) {
        if a[i] == b[i] {
            after_digit = is_digit(a[i]);
            continue;
        }
        let a_letter = a[i].is_alphabetic();
        let b_letter = b[i].is_alphabetic();
        if a_letter && b_letter {
            return a[i] < b[i];
        }
        if a_letter || b_letter {
            return if after_digit { a_letter } else { b_letter };
        }
        return number_less(&a, &b, i);
    }
    a.len() < b.len()
}

/// At position `i`, where neither key has a letter: compares the digit runs starting there as
/// numbers, then by length, then by character.
fn number_less(a: &[char], b: &[char], i: usize) -> bool {
    let (mut a_number, mut b_number) = (0i64, 0i64);
    if a[i] == '0' || b[i] == '0' {
        // A zero continuing a number (the `0` of `10`) is not a leading zero.
        let earlier_nonzero = a[..i]
            .iter()
            .rev()
            .take_while(|c| is_digit(**c))
            .any(|c| *c != '0');
        if earlier_nonzero {
            a_number = 1;
            b_number = 1;
        }
    }
    let (a_number, a_end) = digit_run(a, i, a_number);
    let (b_number, b_end) = digit_run(b, i, b_number);
    if a_number != b_number {
        return a_number < b_number;
    }
    if a_end != b_end {
        return a_end < b_end;
    }
    a[i] < b[i]
}

/// Accumulates the digits from `start` onto `number` (wrapping, as Go's int64 does).
fn digit_run(chars: &[char], start: usize, mut number: i64) -> (i64, usize) {
    let mut end = start;
    while end < chars.len() && is_digit(chars[end]) {
        let digit = i64::from(u32::from(chars[end]).wrapping_sub(u32::from('0')) as i32);
        number = number.wrapping_mul(10).wrapping_add(digit);
        end += 1;
    }
    (number, end)
}

/// Go's `unicode.IsDigit` (category Nd). Outside ASCII this uses Rust's Numeric property,
/// which also takes in Nl and No (Roman numerals, superscripts); letters likewise use the
/// Alphabetic property, which also takes in combining vowel signs. Keys with those characters
/// may sort differently from Go.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut entries: Vec<(String, ())> = keys.iter().map(|k| (k.to_string(), ())).collect();
        sort_entries(&mut entries);
        entries.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn go_yaml_v3_order() {
        // As Go printed these keys (toYamlPretty through the oracle).
        assert_eq!(
            sorted(&["a2", "a10", "a01", "b", "1", "_", "A", "a_", "a1b", "a1_"]),
            ["_", "1", "A", "a_", "a1b", "a1_", "a01", "a2", "a10", "b"]
        );
    }
}
