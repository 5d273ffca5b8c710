//! Colour for text reports on a terminal: severities in `check`, observability classes on cards
//! and in coverage. A pass over the finished, already escaped text (after
//! [`crate::output::document_safe`], which would neutralise the escape sequences), so renderers,
//! snapshots, pipes and files never see colour; only the few fixed spots a report puts there are
//! painted, never text that comes from rules or ATT&CK data.

use super::class_label;
use crate::telemetry::ObsClass;

/// Which report the text is, so that only its own fixed spots are painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// `check` text: the `error`/`warning`/`info` that starts a finding.
    Check,
    /// A technique card: the class on its `Observability:` line.
    Card,
    /// Coverage text: the `[class]` that ends a gap line.
    Coverage,
}

/// Whether to colour: `always`/`never` as asked; `auto` only on a terminal, not with `NO_COLOR`
/// set to anything non-empty (<https://no-color.org>), not on a `dumb` terminal.
pub fn enabled(choice: Option<bool>, terminal: bool, no_color: bool, dumb: bool) -> bool {
    choice.unwrap_or(terminal && !no_color && !dumb)
}

const RESET: &str = "\x1b[0m";

fn severity_colour(word: &str) -> Option<&'static str> {
    match word {
        "error" => Some("\x1b[1;31m"),
        "warning" => Some("\x1b[1;33m"),
        "info" => Some("\x1b[1;36m"),
        _ => None,
    }
}

fn class_colour(label: &str) -> Option<&'static str> {
    [
        (ObsClass::Portable, "\x1b[32m"),
        (ObsClass::EnvironmentSpecific, "\x1b[33m"),
        (ObsClass::NoPortableRule, "\x1b[35m"),
    ]
    .into_iter()
    .find(|(c, _)| class_label(*c) == label)
    .map(|(_, colour)| colour)
}

/// `text` with its report's fixed spots coloured.
pub fn paint(text: &str, what: Paint) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        match painted(line, what) {
            Some(p) => out.push_str(&p),
            None => out.push_str(line),
        }
    }
    out
}

/// One line painted, or `None` when it has no spot of `what`.
fn painted(line: &str, what: Paint) -> Option<String> {
    let body = line.trim_end_matches('\n');
    let end = &line[body.len()..];
    match what {
        Paint::Check => {
            let (word, rest) = body.split_once('[')?;
            let colour = severity_colour(word)?;
            Some(format!("{colour}{word}{RESET}[{rest}{end}"))
        }
        Paint::Card => {
            let label = body.strip_prefix("Observability: ")?;
            let colour = class_colour(label)?;
            Some(format!("Observability: {colour}{label}{RESET}{end}"))
        }
        Paint::Coverage => {
            let head = body.strip_suffix(']')?;
            let open = head.rfind('[')?;
            let label = &head[open + 1..];
            let colour = class_colour(label)?;
            let before = &head[..open];
            Some(format!("{before}[{colour}{label}{RESET}]{end}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_only_the_fixed_spots() {
        let check = "error[attacktag]: x\n  --> a.yml:1:1\nnot[a]: y\ninfo[tag_order]: z";
        assert_eq!(
            paint(check, Paint::Check),
            "\x1b[1;31merror\x1b[0m[attacktag]: x\n  --> a.yml:1:1\nnot[a]: y\n\x1b[1;36minfo\x1b[0m[tag_order]: z"
        );
        assert_eq!(
            paint("Observability: portable\nportable\n", Paint::Card),
            "Observability: \x1b[32mportable\x1b[0m\nportable\n"
        );
        assert_eq!(
            paint(
                "    T1595      Active Scanning [no portable rule]\n",
                Paint::Coverage
            ),
            "    T1595      Active Scanning [\x1b[35mno portable rule\x1b[0m]\n"
        );
        assert_eq!(paint("name [other]\n", Paint::Coverage), "name [other]\n");
    }

    #[test]
    fn auto_means_a_terminal_without_no_color() {
        assert!(enabled(None, true, false, false));
        assert!(!enabled(None, false, false, false));
        assert!(!enabled(None, true, true, false));
        assert!(!enabled(None, true, false, true));
        assert!(enabled(Some(true), false, true, false));
        assert!(!enabled(Some(false), true, false, false));
    }
}
