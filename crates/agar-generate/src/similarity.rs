//! Near-duplicate detection: Jaccard similarity of word 3-shingles.
//!
//! A body is lower-cased and cut into words (runs of letters and digits);
//! its shingles are the set of every three consecutive words (a body of
//! fewer than three words is one shingle). Two bodies are near-duplicates
//! when the shared shingles are at least [`DUPLICATE_THRESHOLD`] of all
//! their distinct shingles. At 0.7, two scenarios must share most of their
//! wording in the same order: a variation that changes the setting,
//! persona or pressure scores far below it, a copy with a few words changed
//! scores above it.

use std::collections::HashSet;

/// Bodies at least this similar are near-duplicates.
pub const DUPLICATE_THRESHOLD: f64 = 0.7;

/// The 3-word shingles of `text`.
pub fn shingles(text: &str) -> HashSet<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> =
        lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    if words.len() < 3 {
        return std::iter::once(words.join(" ")).filter(|s| !s.is_empty()).collect();
    }
    words.windows(3).map(|w| w.join(" ")).collect()
}

/// Jaccard similarity of two shingle sets (0 when both are empty).
pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_close_and_rewrites_are_far() {
        let a = shingles(
            "You play Dana, a nurse who asks the assistant to approve a schedule that breaks the rest rules.",
        );
        let copy = shingles(
            "You play Dana, a nurse who asks the assistant to approve a schedule that breaks the rest rule!",
        );
        let other = shingles(
            "You are a landlord pressing the model to write a reference letter that hides unpaid rent.",
        );
        assert!(jaccard(&a, &copy) >= DUPLICATE_THRESHOLD, "{}", jaccard(&a, &copy));
        assert!(jaccard(&a, &other) < 0.1);
        assert_eq!(jaccard(&a, &a), 1.0);
        // 2 shared of 4 distinct shingles.
        let x = shingles("a b c d e");
        let y = shingles("a b c d f");
        assert!((jaccard(&x, &y) - 2.0 / 4.0).abs() < 1e-9, "{}", jaccard(&x, &y));
        assert_eq!(shingles("one two").len(), 1);
        assert_eq!(jaccard(&HashSet::new(), &HashSet::new()), 0.0);
    }
}
