//! Rules shared by the names of plugin types and items, and the keys derived from them.

/// The longest type or item name: the stores' name columns hold 100 characters.
pub(crate) const MAX_NAME: usize = 100;

/// Why `name` is not a valid plugin type or item name, if it is not.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name must not be empty".into());
    }
    if name.len() > MAX_NAME {
        return Some(format!(
            "the name is {} characters long; at most {MAX_NAME} fit the store",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        let suggestion: String = name
            .chars()
            .map(|c| match c {
                'A'..='Z' => c.to_ascii_lowercase(),
                'a'..='z' | '0'..='9' | '_' => c,
                _ => '_',
            })
            .collect();
        return Some(format!(
            "`{bad}` is not allowed: names use lowercase letters, digits and `_` only (like \"{suggestion}\")"
        ));
    }
    None
}

/// Why `namespace` is not a valid namespace, if it is not (crate package names are valid).
pub(crate) fn namespace_problem(namespace: &str) -> Option<String> {
    if namespace.is_empty() {
        return Some("the namespace must not be empty".into());
    }
    if namespace.len() > MAX_NAME {
        return Some(format!(
            "the namespace is longer than {MAX_NAME} characters"
        ));
    }
    if namespace
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Some("namespaces use letters, digits, `_` and `-` only".into());
    }
    None
}

/// FNV-1a, 64 bits: a stable hash that needs no dependency, for the contract fingerprint. (The
/// type key is computed in generated code, by `__private::type_key`.)
pub(crate) fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name_problem("payment_gateway_2"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("Payment").unwrap().contains("\"payment\""));
        assert!(name_problem("a-b").unwrap().contains("\"a_b\""));
        assert!(name_problem(&"a".repeat(101)).is_some());
        assert_eq!(namespace_problem("my-app"), None);
        assert!(namespace_problem("a b").is_some());
    }

    #[test]
    fn hash_separates_parts() {
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
    }
}
