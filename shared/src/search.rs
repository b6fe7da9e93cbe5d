//! Text folding for search: what the server indexes and what the browser's cache matches
//! must be the same function, or a product found online would vanish offline.

/// Lower case, Spanish accents removed (`Niño Clásico` → `nino clasico`).
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' | 'ã' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' | 'õ' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// The distinct folded words of `text`, split on anything that is not a letter or digit.
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The words a product is found by: those of its name, brand, model and color. The server's
/// index and the browser's cache both use this.
pub fn product_words(name: &str, brand: &str, model: &str, color: &str) -> Vec<String> {
    words(&format!("{name} {brand} {model} {color}"))
}

/// Exclusive upper bound of the strings starting with `prefix`, for index range scans
/// (`word >= prefix AND word < upper`). Works with bytewise collation (SQLite's default,
/// `COLLATE "C"` on PostgreSQL).
pub fn prefix_upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_spanish_accents() {
        assert_eq!(fold("Niño CLÁSICO Pingüino"), "nino clasico pinguino");
    }

    #[test]
    fn words_are_folded_split_and_unique() {
        assert_eq!(
            words("Oxford clásico — Oxford, negro/café"),
            vec!["cafe", "clasico", "negro", "oxford"]
        );
        assert!(words("  ,; ").is_empty());
    }

    #[test]
    fn prefix_bound_orders_after_every_extension() {
        let upper = prefix_upper_bound("oxf");
        for w in ["oxf", "oxford", "oxfzzzz"] {
            assert!(w >= "oxf" && w < upper.as_str(), "{w}");
        }
        assert!("oxg" >= upper.as_str());
    }
}
