//! Text for people: doc-comment markup shown readably, query values encoded.

use maud::{Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What a query value keeps as it is (RFC 3986's unreserved characters); the rest is
/// percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query value.
pub(crate) fn query_encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// Text as doc comments and error messages write it, with `` `code` `` spans shown as code
/// (no literal backticks); everything escaped.
pub(crate) fn rich(text: &str) -> Markup {
    let parts: Vec<&str> = text.split('`').collect();
    // An unpaired backtick stays a backtick.
    let paired = parts.len() % 2 == 1;
    html! {
        @for (index, part) in parts.iter().enumerate() {
            @if index % 2 == 1 && (paired || index + 1 < parts.len()) {
                code { (part) }
            } @else {
                @if index % 2 == 1 { "`" }
                (part)
            }
        }
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(query_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn backticks_become_code_and_markup_stays_text() {
        assert_eq!(
            rich("use `sk_live_…` <b>").into_string(),
            "use <code>sk_live_…</code> &lt;b&gt;"
        );
        assert_eq!(rich("a ` b").into_string(), "a ` b");
    }

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
