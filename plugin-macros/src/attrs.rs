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

/// An argument's value exactly as written (`key = <expression>`), for keys whose checks give
/// their own messages. (darling reads a string given for a `syn::Expr` as code to parse, so
/// `version = "1.2.0"` would be refused before our checks saw it.)
#[derive(Debug, Clone)]
pub(crate) struct Written(pub syn::Expr);

impl darling::FromMeta for Written {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        Ok(Written(expr.clone()))
    }
}

/// Parses an attribute's arguments into `T`, first reporting every unknown key itself (see
/// [`unknown_key`]) so darling sees only known keys and its errors about their values still come
/// through. Returns `None` when the arguments could not be read, so callers skip checks that
/// would only repeat the problem.
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
    let list: Vec<NestedMeta> = list
        .into_iter()
        .filter(|meta| {
            let NestedMeta::Meta(meta) = meta else {
                return true;
            };
            if known.contains(&path_text(meta.path()).as_str()) {
                return true;
            }
            clean = false;
            errors.push(unknown_key(meta.path(), attribute, "", known));
            false
        })
        .collect();
    let parsed = errors.handle(T::from_list(&list));
    if clean { parsed } else { None }
}

/// The one report of a key an attribute does not take, for all three macros: spanned at the
/// key, with the closest valid key when it is a likely typo, then every valid key. `place` says
/// where the list applies (`" on a field"`), or is empty.
pub(crate) fn unknown_key(
    path: &syn::Path,
    attribute: &str,
    place: &str,
    valid: &[&str],
) -> darling::Error {
    let key = path_text(path);
    let suggestion = closest(&key, valid)
        .map(|near| format!("did you mean `{near}`? "))
        .unwrap_or_default();
    darling::Error::custom(format!(
        "unknown key `{key}` in #[{attribute}]; {suggestion}valid keys{place}: {}",
        listed(valid)
    ))
    .with_span(path)
}

/// `a`, `b`, `c` as the messages list keys.
pub(crate) fn listed(keys: &[&str]) -> String {
    keys.iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A key or path as written, for messages: `name`, `a::b` (generic arguments left out).
pub(crate) fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// A type as messages quote it, from its tokens: a space only between two words
/// (`Vec<String>`, `&'static str`, `dyn Trait`).
pub(crate) fn type_text(ty: &syn::Type) -> String {
    fn write(tokens: proc_macro2::TokenStream, out: &mut String) {
        use proc_macro2::{Delimiter, TokenTree};
        let mut word_before = false;
        for token in tokens {
            let word = matches!(token, TokenTree::Ident(_) | TokenTree::Literal(_));
            if word && word_before {
                out.push(' ');
            }
            match token {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::None => ("", ""),
                    };
                    out.push_str(open);
                    write(group.stream(), out);
                    out.push_str(close);
                }
                TokenTree::Punct(punct) => {
                    out.push(punct.as_char());
                    if punct.as_char() == ',' || punct.as_char() == ';' {
                        out.push(' ');
                    }
                }
                other => out.push_str(&other.to_string()),
            }
            word_before = word;
        }
    }
    let mut out = String::new();
    write(quote::ToTokens::to_token_stream(ty), &mut out);
    out
}

/// The valid key closest to a misspelling, if it is close enough to be a likely typo: at most
/// two edits (a swap of neighbours counts as one, `defualt`), or a third of the key's length.
fn closest<'a>(key: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(key, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The paths of `[A, b::B]`: `not_a_list` when the value is not a list, `not_a_path` at an
/// element that is not a path.
pub(crate) fn paths_of(
    expr: &syn::Expr,
    not_a_list: &str,
    not_a_path: &str,
) -> darling::Result<Vec<syn::Path>> {
    let syn::Expr::Array(array) = expr else {
        return Err(darling::Error::custom(not_a_list).with_span(expr));
    };
    array
        .elems
        .iter()
        .map(|elem| match elem {
            syn::Expr::Path(path) if path.qself.is_none() => Ok(path.path.clone()),
            other => Err(darling::Error::custom(not_a_path).with_span(other)),
        })
        .collect()
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
        let fields = ["alias", "default", "min", "min_length", "max_length"];
        assert_eq!(closest("defualt", &fields), Some("default"));
        assert_eq!(closest("minlength", &fields), Some("min_length"));
        assert_eq!(closest("colour", &fields), None);
    }

    #[test]
    fn types_read_as_written() {
        let text = |ty: syn::Type| type_text(&ty);
        assert_eq!(text(syn::parse_quote!(Vec<String>)), "Vec<String>");
        assert_eq!(
            text(syn::parse_quote!(Option<&'static str>)),
            "Option<&'static str>"
        );
        assert_eq!(
            text(syn::parse_quote!(Box<dyn Fn(u8) -> u8>)),
            "Box<dyn Fn(u8)->u8>"
        );
        assert_eq!(
            text(syn::parse_quote!(HashMap<String, u8>)),
            "HashMap<String, u8>"
        );
    }

    #[test]
    fn one_message_for_every_attribute() {
        let path: syn::Path = syn::parse_quote!(priorty);
        let message = unknown_key(&path, "plugin_item", "", &["name", "priority"]).to_string();
        assert_eq!(
            message,
            "unknown key `priorty` in #[plugin_item]; did you mean `priority`? valid keys: `name`, `priority`"
        );
    }
}
