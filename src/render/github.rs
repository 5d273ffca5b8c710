//! GitHub Actions workflow commands (`::error file=..,line=..::message`): annotations on the pull
//! request diff without uploading SARIF.

use crate::check::CheckReport;
use crate::diag::Severity;

/// Escapes a command's message (data): control and bidi characters become visible escapes, then
/// GitHub's own escaping of `%`, CR and LF, so no field can end the command or start another.
fn data(s: &str) -> String {
    crate::output::term_safe(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn annotations(r: &CheckReport) -> String {
    let mut out = String::new();
    // On top: the version skew explains the ATT&CK findings below it.
    if let Some(skew) = &r.skew {
        out.push_str(&format!(
            "::warning title=attack_version_skew::{}\n",
            data(&skew.summary())
        ));
    }
    for f in &r.findings {
        let d = &f.diagnostic;
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(p) = &d.path {
            props.push(format!("file={}", property(&p.to_string_lossy())));
        }
        if let Some(l) = d.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = d.column {
            props.push(format!("col={c}"));
        }
        props.push(format!("title={}", property(d.code.as_str())));
        out.push_str(&format!(
            "::{kind} {}::{}\n",
            props.join(","),
            data(&d.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_properties_and_data() {
        assert_eq!(data("50% a\nb"), "50%25 a%0Ab");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(
            property("x\n::stop-commands::t\n.yml"),
            "x%0A%3A%3Astop-commands%3A%3At%0A.yml"
        );
        assert_eq!(
            data("\u{1b}[2J\u{7}\u{85}\u{202e}"),
            "\\u{1b}[2J\\u{7}\\u{85}\\u{202e}"
        );
    }
}
