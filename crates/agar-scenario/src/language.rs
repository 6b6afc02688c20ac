//! The `language` key: a plausible BCP 47 tag (`en`, `pt-BR`, `zh-Hans`),
//! checked for shape and written in its canonical case.

/// The language of a scenario without a `language` key.
pub const DEFAULT_LANGUAGE: &str = "en";

/// `tag` in canonical case (`pt-br` -> `pt-BR`, `zh-hans` -> `zh-Hans`), or
/// why it is not a plausible BCP 47 tag. Checked: a primary language of 2 or
/// 3 letters, then subtags of 1 to 8 letters or digits separated by `-`: a
/// 4-letter script, a 2-letter or 3-digit region, variants and extensions.
/// Whether the language exists is not checked.
pub fn normalise_language(tag: &str) -> Result<String, String> {
    let tag = tag.trim();
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or_default();
    if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!(
            "`{tag}` is not a BCP 47 language tag: it must start with a 2 or 3 letter \
             language code such as `en`, `es` or `zh`"
        ));
    }
    let mut out = primary.to_ascii_lowercase();
    for (i, sub) in subtags.enumerate() {
        if sub.is_empty() || sub.len() > 8 || !sub.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "`{tag}` is not a BCP 47 language tag: subtag `{sub}` must be 1 to 8 \
                 ascii letters or digits"
            ));
        }
        let letters = sub.chars().all(|c| c.is_ascii_alphabetic());
        out.push('-');
        if i == 0 && sub.len() == 4 && letters {
            // A script: Title case.
            let (first, rest) = sub.split_at(1);
            out.push_str(&first.to_ascii_uppercase());
            out.push_str(&rest.to_ascii_lowercase());
        } else if sub.len() == 2 && letters {
            out.push_str(&sub.to_ascii_uppercase());
        } else {
            out.push_str(&sub.to_ascii_lowercase());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_tags_are_normalised() {
        assert_eq!(normalise_language("en").unwrap(), "en");
        assert_eq!(normalise_language("pt-br").unwrap(), "pt-BR");
        assert_eq!(normalise_language("ZH-hans-cn").unwrap(), "zh-Hans-CN");
        assert_eq!(normalise_language("es-419").unwrap(), "es-419");
        assert_eq!(normalise_language("fil").unwrap(), "fil");
    }

    #[test]
    fn implausible_tags_are_refused() {
        for bad in ["", "e", "english", "en_US", "en-", "12", "fr-toolongsubtag", "de--DE"] {
            assert!(normalise_language(bad).is_err(), "{bad:?} accepted");
        }
    }
}
