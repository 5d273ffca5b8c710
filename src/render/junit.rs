//! JUnit XML renderer: a small generic model (suites of cases) that `check` and `test` fill, and
//! one writer, so every CI test view (Jenkins, GitLab, GitHub test reporters) sees the same shape.

use std::fmt::Write;

#[derive(Debug, Clone, Default)]
pub struct JUnitReport {
    /// Name of the whole run, e.g. `attacktrace check`.
    pub name: String,
    pub suites: Vec<Suite>,
    /// Run properties (config, ATT&CK data), written in every suite's `<properties>`.
    pub properties: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Default)]
pub struct Case {
    pub name: String,
    /// Usually the rule file path.
    pub classname: String,
    pub failure: Option<Failure>,
    pub skipped: Option<String>,
    /// Text for `<system-out>`: what passed with a remark (a regression test's extra matches),
    /// which JUnit has no status for; CI test views show it beside the case.
    pub output: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// One line.
    pub message: String,
    /// Failure type attribute, e.g. the severity or diagnostic code.
    pub kind: String,
    /// Body text (details, source line).
    pub text: String,
}

/// Escapes text for XML attribute values and character data. Characters XML 1.0 cannot carry
/// (most control characters) are replaced by U+FFFD so the document always parses; DEL, C1 and
/// bidi controls, which XML allows but a CI log should not print, become visible escapes; a line
/// that a CI runner would take for a workflow command (`::error::...`, printed when the log shows
/// the report) is defused.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if ('\u{7f}'..='\u{9f}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                out.push_str(&crate::output::term_safe(c.encode_utf8(&mut [0; 4])));
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    crate::output::defuse_commands(&out).into_owned()
}

pub fn to_xml(r: &JUnitReport) -> String {
    let count = |s: &Suite| {
        (
            s.cases.len(),
            s.cases.iter().filter(|c| c.failure.is_some()).count(),
            s.cases.iter().filter(|c| c.skipped.is_some()).count(),
        )
    };
    let (tests, failures, skipped) = r
        .suites
        .iter()
        .map(count)
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        xml_escape(&r.name)
    );
    for s in &r.suites {
        let (t, f, sk) = count(s);
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{t}\" failures=\"{f}\" errors=\"0\" skipped=\"{sk}\">",
            xml_escape(&s.name)
        );
        if !r.properties.is_empty() {
            o.push_str("    <properties>\n");
            for (name, value) in &r.properties {
                let _ = writeln!(
                    o,
                    "      <property name=\"{}\" value=\"{}\"/>",
                    xml_escape(name),
                    xml_escape(value)
                );
            }
            o.push_str("    </properties>\n");
        }
        for c in &s.cases {
            let _ = write!(
                o,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml_escape(&c.name),
                xml_escape(&c.classname)
            );
            if c.failure.is_none() && c.skipped.is_none() && c.output.is_none() {
                o.push_str("/>\n");
                continue;
            }
            o.push_str(">\n");
            if let Some(f) = &c.failure {
                let _ = writeln!(
                    o,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml_escape(&f.message),
                    xml_escape(&f.kind),
                    xml_escape(&f.text)
                );
            }
            if let Some(reason) = &c.skipped {
                let _ = writeln!(o, "      <skipped message=\"{}\"/>", xml_escape(reason));
            }
            if let Some(text) = &c.output {
                let _ = writeln!(o, "      <system-out>{}</system-out>", xml_escape(text));
            }
            o.push_str("    </testcase>\n");
        }
        o.push_str("  </testsuite>\n");
    }
    o.push_str("</testsuites>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_counts() {
        let r = JUnitReport {
            name: "run".into(),
            suites: vec![Suite {
                name: "code<1>".into(),
                cases: vec![
                    Case {
                        name: "ok".into(),
                        classname: "a.yml".into(),
                        ..Default::default()
                    },
                    Case {
                        name: "bad \"x\"".into(),
                        classname: "b.yml".into(),
                        failure: Some(Failure {
                            message: "m & n".into(),
                            kind: "error".into(),
                            text: "line\u{1b}[31m".into(),
                        }),
                        ..Default::default()
                    },
                ],
            }],
            properties: Vec::new(),
        };
        let x = to_xml(&r);
        assert!(x.contains("tests=\"2\" failures=\"1\""));
        assert!(x.contains("code&lt;1&gt;"));
        assert!(x.contains("bad &quot;x&quot;"));
        assert!(x.contains("m &amp; n"));
        assert!(x.contains("line\u{FFFD}[31m"));
        assert!(!x.contains('\u{1b}'));
    }

    #[test]
    fn no_raw_c1_bidi_or_workflow_command() {
        let x = xml_escape("a\u{85}b\u{9b}c\u{202e}d\u{7f}\n::error::pwned\r\n  ::warning::x");
        assert_eq!(
            x,
            "a\\u{85}b\\u{9b}c\\u{202e}d\\u{7f}\n\\u{3a}:error::pwned\r\n  \\u{3a}:warning::x"
        );
    }
}
