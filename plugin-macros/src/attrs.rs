//! Helpers for the attributes the macros read from the user's item.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// The doc comment of an item, lines trimmed and joined: the default description.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) => Some(text.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

/// True when the attribute list holds `#[async_trait]` (any path ending in it): that macro
/// runs after ours and turns `async fn`s into object-safe methods.
pub(crate) fn has_async_trait(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "async_trait")
    })
}

/// Parses an attribute's arguments into `T`, first reporting every unknown key itself (spanned
/// at the key, with a suggestion and the list of valid keys) so darling sees only known keys
/// and its errors about their values still come through. Returns `None` when the arguments
/// could not be read, so callers skip checks that would only repeat the problem.
pub(crate) fn parse_args<T: darling::FromMeta>(
    args: proc_macro2::TokenStream,
    attribute: &str,
    known: &[&str],
    errors: &mut darling::error::Accumulator,
) -> Option<T> {
    use darling::ast::NestedMeta;
    let list = match NestedMeta::parse_meta_list(args) {
        Ok(list) => list,
        Err(err) => {
            errors.push(err.into());
            return None;
        }
    };
    let mut clean = true;
    let known_list = known
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let list: Vec<NestedMeta> = list
        .into_iter()
        .filter(|meta| {
            let NestedMeta::Meta(meta) = meta else {
                return true;
            };
            let path = meta.path();
            let key = path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if known.contains(&key.as_str()) {
                return true;
            }
            clean = false;
            let suggestion = closest(&key, known)
                .map(|near| format!("did you mean `{near}`? "))
                .unwrap_or_default();
            errors.push(
                darling::Error::custom(format!(
                    "unknown key `{}` in #[{attribute}]; {suggestion}valid keys: {known_list}",
                    quote::ToTokens::to_token_stream(path)
                        .to_string()
                        .replace(' ', "")
                ))
                .with_span(path),
            );
            false
        })
        .collect();
    let parsed = errors.handle(T::from_list(&list));
    if clean { parsed } else { None }
}

/// The known key closest to a misspelling, if it is close enough to be a likely typo.
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|candidate| (edit_distance(key, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over bytes (keys are ASCII identifiers).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = ["name", "priority", "config", "renamed_from"];
        assert_eq!(closest("priorty", &known), Some("priority"));
        assert_eq!(closest("nmae", &known), Some("name"));
        assert_eq!(closest("renamed", &known), None);
        assert_eq!(closest("zzz", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
