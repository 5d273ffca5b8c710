//! `explain`: the list of diagnostic codes, and one code's explanation.

use crate::diag::{Code, CodeInfo};

/// One line per code: code, severity, summary.
pub fn list() -> String {
    let mut out = String::new();
    for c in Code::all().map(Code::info) {
        out.push_str(&format!(
            "{:<28} {:<8} {}\n",
            c.code,
            c.severity.as_str(),
            c.summary
        ));
    }
    out
}

/// One code: header, summary, explanation.
pub fn one(info: &CodeInfo) -> String {
    format!(
        "{} ({})\n{}\n\n{}\n",
        info.code,
        info.severity.as_str(),
        info.summary,
        info.explanation
    )
}
