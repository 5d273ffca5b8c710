//! Output layer: one module per format, one dispatch point per report.
//!
//! Report models are plain data built by the core; these modules only turn them into bytes. Nothing
//! outside `render/` and `cli.rs` writes to stdout or stderr. Every string that comes from rule files
//! or ATT&CK data goes through the format's escaping (`term_safe` for text, `md_escape` for
//! Markdown; JSON is escaped by serde).

pub mod check;
pub mod csv;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod navigator;
pub mod sarif;
pub mod test_report;
pub mod text;

use std::borrow::Cow;
use std::io::{self, Write};

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

/// Neutralises control characters (ANSI escapes, carriage returns, ...) in untrusted text for a
/// terminal: each becomes a visible `\u{..}` escape. Newlines and tabs are kept.
pub fn term_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Same as [`term_safe`] and also folds newlines: for one-line fields such as titles.
pub fn one_line(s: &str) -> String {
    term_safe(s).replace(['\n', '\r'], " ")
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

/// Writes `bytes` to stdout. A closed pipe (`attacktrace ... | head`) is not an error.
pub fn to_stdout(bytes: &[u8]) -> io::Result<()> {
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(bytes).and_then(|_| lock.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one message line to stderr (notices, warnings, errors), neutralising control characters.
pub fn to_stderr(line: &str) {
    let stderr = io::stderr();
    let mut lock = stderr.lock();
    let _ = writeln!(lock, "{}", term_safe(line));
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename, so
/// a reader never sees a half-written report and a killed run leaves the previous file intact.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_safe_neutralises_escapes() {
        assert_eq!(term_safe("plain"), "plain");
        assert_eq!(term_safe("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(one_line("a\nb\r"), "a b\\u{d}");
    }

    #[test]
    fn md_escape_blocks_html_and_tables() {
        assert_eq!(md_escape("<b>|x|"), "\\<b\\>\\|x\\|");
    }

    #[test]
    fn wrap_keeps_words() {
        assert_eq!(wrap("aa bb cc", 5, "  "), "  aa bb\n  cc\n");
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = std::env::temp_dir().join(format!("at-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
