//! DynamoDB's reserved words: a name written bare in an expression may not be one of these
//! (compared case-insensitively); it has to go through an `#name` placeholder instead.

/// The service's list, one word per line, upper case, sorted (kept verbatim, typos included).
const RESERVED_WORDS: &str = include_str!("reserved_words.txt");

pub fn is_reserved(name: &str) -> bool {
    static WORDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    // The list is sorted, so a binary search over its lines suffices.
    let words = WORDS.get_or_init(|| RESERVED_WORDS.lines().collect());
    words.binary_search(&name.to_ascii_uppercase().as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_complete() {
        let words: Vec<&str> = RESERVED_WORDS.lines().collect();
        assert_eq!(words.len(), 573);
        assert!(words.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lookup_is_case_insensitive() {
        for w in [
            "name", "NAME", "Size", "abOrt", "data", "status", "AND", "between", "flattern",
        ] {
            assert!(is_reserved(w), "{w}");
        }
        for w in ["pk", "sk", "myattr", "title", "x"] {
            assert!(!is_reserved(w), "{w}");
        }
    }
}
