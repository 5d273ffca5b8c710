//! Output layer: one module per format, one dispatch point per report.
//!
//! Report models are plain data built by the core; these modules only turn them into bytes. Bytes leave
//! the process only through [`crate::output`], called from `cli/`. Every string that comes from rule files
//! or ATT&CK data goes through the format's escaping (`term_safe` for text, `md_escape` for
//! Markdown; JSON is escaped by serde).

pub mod attack_diff;
pub mod check;
pub mod classes;
pub mod csv;
pub mod explain;
pub mod github;
pub mod gitlab;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod migrate;
pub mod navigator;
pub mod palette;
pub mod paths;
pub mod sarif;
pub mod style;
pub mod test_report;
pub mod text;

// The renderers' shared escaping lives in the output layer; `super::one_line` keeps working for them.
use crate::output::{one_line, term_safe};

use crate::attack::facts::{by_kind, Fact};

/// Output formats. Each command accepts the subset it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// Human label of an observability class.
pub fn class_label(c: crate::telemetry::ObsClass) -> &'static str {
    use crate::telemetry::ObsClass;
    match c {
        ObsClass::Portable => "portable",
        ObsClass::EnvironmentSpecific => "environment-specific",
        ObsClass::NoPortableRule => "no portable rule",
    }
}

/// Machine spelling of an observability class, the same in every machine format (JSON's serde
/// form): `portable`, `environment-specific`, `no-portable-rule`.
pub fn class_code(c: crate::telemetry::ObsClass) -> &'static str {
    use crate::telemetry::ObsClass;
    match c {
        ObsClass::Portable => "portable",
        ObsClass::EnvironmentSpecific => "environment-specific",
        ObsClass::NoPortableRule => "no-portable-rule",
    }
}

/// What a card shows for a log-source channel, before escaping: the prose when the bundle is loaded,
/// else the machine channel and the facts read from the prose
/// (`execve | syscalls: execve; paths: /usr/bin/systemctl`).
pub fn channel_label(channel: Option<&str>, text: Option<&str>, facts: &[Fact]) -> String {
    let facts = by_kind(facts)
        .into_iter()
        .map(|(kind, values)| format!("{}: {}", kind.label(), values.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    match (text, channel) {
        (Some(text), _) => text.to_string(),
        (None, Some(ch)) if facts.is_empty() => ch.to_string(),
        (None, Some(ch)) => format!("{ch} | {facts}"),
        (None, None) if facts.is_empty() => "(free-text channel)".to_string(),
        (None, None) => facts,
    }
}

/// Escapes text for a Markdown table cell or inline run: no HTML, no table breaks, no links.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in one_line(s).chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Wraps `text` at `width` columns with `indent` before every line.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                out.push_str(indent);
                out.push_str(&line);
                out.push('\n');
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_codes_are_the_json_spelling() {
        use crate::telemetry::ObsClass;
        for c in [
            ObsClass::Portable,
            ObsClass::EnvironmentSpecific,
            ObsClass::NoPortableRule,
        ] {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", class_code(c))
            );
        }
    }

    #[test]
    fn md_escape_blocks_html_and_tables() {
        assert_eq!(md_escape("<b>|x|"), "\\<b\\>\\|x\\|");
    }

    #[test]
    fn channel_label_prefers_prose_then_facts() {
        use crate::attack::facts::FactKind;
        let f = |kind, value: &str| Fact {
            kind,
            value: value.into(),
        };
        let facts = [
            f(FactKind::Path, "/etc/x"),
            f(FactKind::Syscall, "creat"),
            f(FactKind::Syscall, "write"),
        ];
        assert_eq!(channel_label(None, Some("prose"), &facts), "prose");
        assert_eq!(
            channel_label(None, None, &facts),
            "syscalls: creat, write; paths: /etc/x"
        );
        assert_eq!(
            channel_label(Some("creat"), None, &facts[..2]),
            "creat | syscalls: creat; paths: /etc/x"
        );
        assert_eq!(channel_label(Some("execve"), None, &[]), "execve");
        assert_eq!(channel_label(None, None, &[]), "(free-text channel)");
    }

    #[test]
    fn wrap_keeps_words() {
        assert_eq!(wrap("aa bb cc", 5, "  "), "  aa bb\n  cc\n");
    }
}
