//! Turns MITRE description markup into plain text with numbered footnotes.
//!
//! ATT&CK prose cites sources as `(Citation: Name)`, links other objects with Markdown `[text](url)` and
//! marks literals with `<code>`. Terminal, Markdown and JSON reports all want the same clean text, so the
//! conversion lives here once: citations become ` [n]` (numbered by first appearance, one number per
//! source) and the footnotes carry the reference's URL and description.

use super::model::ExternalReference;
use serde::Serialize;

/// One numbered source of a rendered text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Footnote {
    pub number: usize,
    pub source_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Rendered text plus its footnotes in number order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prose {
    pub text: String,
    pub footnotes: Vec<Footnote>,
}

const CITATION: &str = "(Citation:";

/// Renders `text`, resolving citations against `refs` (by source name; unknown names still get a number).
pub fn render_prose(text: &str, refs: &[ExternalReference]) -> Prose {
    let text = strip_links(text)
        .replace("<code>", "`")
        .replace("</code>", "`");
    let mut out = String::with_capacity(text.len());
    let mut footnotes: Vec<Footnote> = Vec::new();
    let mut rest = text.as_str();
    let mut last_was_citation = false;
    while let Some(start) = rest.find(CITATION) {
        let before = &rest[..start];
        if !before.is_empty() {
            last_was_citation = false;
        }
        out.push_str(before);
        let after = &rest[start + CITATION.len()..];
        // The name ends at the parenthesis that closes `(Citation:`; names may hold balanced parens.
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let (name, next) = match end {
            Some(i) => (after[..i].trim(), &after[i + 1..]),
            None => (after.trim(), ""),
        };
        let number = match footnotes.iter().find(|f| f.source_name == name) {
            Some(f) => f.number,
            None => {
                let r = refs
                    .iter()
                    .find(|r| r.source_name == name)
                    .or_else(|| refs.iter().find(|r| r.source_name.trim() == name));
                let n = footnotes.len() + 1;
                footnotes.push(Footnote {
                    number: n,
                    source_name: name.to_string(),
                    url: r.and_then(|r| r.url.clone()),
                    description: r.and_then(|r| r.description.clone()),
                });
                n
            }
        };
        if !last_was_citation && !out.ends_with(char::is_whitespace) && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("[{number}]"));
        last_was_citation = true;
        rest = next;
    }
    out.push_str(rest);
    Prose {
        text: out.trim().to_string(),
        footnotes,
    }
}

/// `[text](url)` -> `text`. Anything that does not look like a link is left alone.
fn strip_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let tail = &rest[open + 1..];
        let link = tail.find("](").and_then(|close| {
            let label = &tail[..close];
            if label.contains('[') || label.contains('\n') {
                return None;
            }
            let url_part = &tail[close + 2..];
            let mut depth = 0usize;
            for (i, c) in url_part.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => return Some((label, close + 2 + i + 1)),
                    ')' => depth -= 1,
                    c if c.is_whitespace() => return None,
                    _ => {}
                }
            }
            None
        });
        match link {
            Some((label, consumed)) => {
                out.push_str(label);
                rest = &tail[consumed..];
            }
            None => {
                out.push('[');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, url: Option<&str>) -> ExternalReference {
        ExternalReference {
            source_name: name.into(),
            url: url.map(Into::into),
            description: Some(format!("{name} desc")),
        }
    }

    #[test]
    fn citations_are_numbered_by_first_appearance() {
        let refs = [r("Beta", Some("https://b")), r("Alpha", None)];
        let p = render_prose(
            "One thing.(Citation: Alpha) Two (Citation: Beta)(Citation: Alpha) three.(Citation: Alpha)",
            &refs,
        );
        assert_eq!(p.text, "One thing. [1] Two [2][1] three. [1]");
        assert_eq!(p.footnotes.len(), 2);
        assert_eq!(p.footnotes[0].source_name, "Alpha");
        assert_eq!(p.footnotes[0].url, None);
        assert_eq!(p.footnotes[1].number, 2);
        assert_eq!(p.footnotes[1].url.as_deref(), Some("https://b"));
        assert_eq!(p.footnotes[1].description.as_deref(), Some("Beta desc"));
    }

    #[test]
    fn links_and_code() {
        let p = render_prose(
            "[Foo](https://attack.mitre.org/software/S0001) runs <code>cmd.exe /c</code> [not a link] and [x](bad url).",
            &[],
        );
        assert_eq!(
            p.text,
            "Foo runs `cmd.exe /c` [not a link] and [x](bad url)."
        );
        assert!(p.footnotes.is_empty());
    }

    #[test]
    fn odd_citations_never_leak() {
        for s in [
            "Broken (Citation: Unclosed",
            "Nested (Citation: Name (2019)) end",
            "(Citation: Unknown) first",
            "(Citation:)",
        ] {
            let p = render_prose(s, &[]);
            assert!(!p.text.contains("(Citation:"), "{s} -> {}", p.text);
            assert_eq!(p.footnotes.len(), 1, "{s}");
        }
        let p = render_prose("Nested (Citation: Name (2019)) end", &[]);
        assert_eq!(p.text, "Nested [1] end");
        assert_eq!(p.footnotes[0].source_name, "Name (2019)");
    }

    #[test]
    fn citation_inside_link_label() {
        let p = render_prose("[T1059](https://x/T1059)(Citation: A)", &[r("A", None)]);
        assert_eq!(p.text, "T1059 [1]");
    }
}
