//! Text for the two places where Leptos writes a string into the page without escaping it.
//!
//! Leptos escapes text and attribute values everywhere except in two spots, and catalog
//! files, the identity provider, the mesh and the audit log all reach both:
//!
//! - `leptos_meta` writes the `<title>` text into `<head>` as given, so a title holding
//!   `</title><meta http-equiv=refresh …>` would become live markup in every viewer's page;
//! - `tachys` treats `<textarea>` like `<script>` (children are not escaped), so a description
//!   holding `</textarea><form …>` would break out of the edit panel.
//!
//! On the server these strings are escaped for HTML text. In the browser they are set
//! through the DOM (`document.title`, a text node), which needs no escaping: escaping there
//! would show `&lt;` to the reader.

/// `text` made safe for a `<title>` or `<textarea>` element's content in server-rendered HTML;
/// unchanged in the browser.
pub fn raw_text(text: String) -> String {
    #[cfg(feature = "ssr")]
    {
        match html_escape::encode_text(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(escaped) => escaped,
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        text
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn closing_tags_cannot_end_the_element() {
        let escaped = raw_text("a </title><h1>x</h1> </textarea> & b".to_owned());
        assert_eq!(
            escaped,
            "a &lt;/title&gt;&lt;h1&gt;x&lt;/h1&gt; &lt;/textarea&gt; &amp; b"
        );
        assert_eq!(raw_text("plain".to_owned()), "plain");
    }
}
