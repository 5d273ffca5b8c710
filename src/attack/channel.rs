//! Classifies the `channel` strings of ATT&CK v18 log-source references.
//!
//! ATT&CK writes a channel in five shapes (telemetry-facts.md 3.3): `EventCode=4688`, an identifier list
//! (`execve`, `open, write`, `socket/connect`), an identifier followed by a free-text filter
//! (`execve: processes launched with ...`), plain prose, or the literal `None`. Only the first two, the
//! identifier part of the third and `None` are facts a tool can match on; the rest is MITRE prose that
//! the compiled catalog must not carry. Both the loader and the telemetry map use this one classifier so
//! they agree on what is machine-usable.

/// The shape of a channel string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelForm {
    /// `EventCode=4688`, `EventCode=3, 22`, `EventCode=4778, EventCode=4779`.
    EventCode,
    /// One token or a `,` `/` `|` separated list of tokens (syscalls, record types, API names, log files).
    Identifier,
    /// `identifier: free text`.
    IdentifierText,
    /// Anything else: a free-text description.
    Prose,
    /// The literal `None` (ATT&CK's placeholder for "no concrete channel").
    None,
}

impl ChannelForm {
    /// Stable lower-case name used in reports and counts.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelForm::EventCode => "eventcode",
            ChannelForm::Identifier => "identifier",
            ChannelForm::IdentifierText => "identifier+text",
            ChannelForm::Prose => "prose",
            ChannelForm::None => "none",
        }
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// A whole channel that is an identifier list; separators may carry spaces (`A / B`, `open, write`).
fn is_identifier_list(s: &str) -> bool {
    s.split([',', '/', '|']).all(|p| is_token(p.trim()))
}

/// The head of `head: text`. Stricter than [`is_identifier_list`]: only `,` may be followed by spaces,
/// so prose such as `Create / Update: ...` or `ssm:GetCommandInvocation` is not mistaken for an identifier.
fn is_strict_identifier_list(s: &str) -> bool {
    let mut rest = s;
    loop {
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        if end == 0 {
            return false;
        }
        rest = &rest[end..];
        if rest.is_empty() {
            return true;
        }
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix(',') {
            rest = after.trim_start();
        } else if let Some(after) = rest.strip_prefix(['/', '|']) {
            rest = after;
        } else {
            return false;
        }
    }
}

fn is_event_code(s: &str) -> bool {
    s.strip_prefix("EventCode=")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// Classifies a raw channel string.
pub fn channel_form(raw: &str) -> ChannelForm {
    let s = raw.trim();
    if s == "None" {
        ChannelForm::None
    } else if is_event_code(s) {
        ChannelForm::EventCode
    } else if is_identifier_list(s) {
        ChannelForm::Identifier
    } else if s
        .find(": ")
        .is_some_and(|i| is_strict_identifier_list(&s[..i]))
    {
        ChannelForm::IdentifierText
    } else {
        ChannelForm::Prose
    }
}

/// The machine-usable part of a channel: the trimmed string for event codes, identifier lists and `None`,
/// the identifier part of `identifier: text`, nothing for prose.
pub fn machine_channel(raw: &str) -> Option<String> {
    let s = raw.trim();
    match channel_form(s) {
        ChannelForm::EventCode | ChannelForm::Identifier | ChannelForm::None => Some(s.to_string()),
        ChannelForm::IdentifierText => s.find(": ").map(|i| s[..i].trim().to_string()),
        ChannelForm::Prose => None,
    }
}

/// `(channel, channel_text)` for a [`crate::attack::LogSourceRef`]: the text is kept only when it says
/// more than the machine part.
pub fn split_channel(raw: &str) -> (Option<String>, Option<String>) {
    let machine = machine_channel(raw);
    let text = match &machine {
        Some(m) if m == raw.trim() => None,
        _ if raw.trim().is_empty() => None,
        _ => Some(raw.to_string()),
    };
    (machine, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes() {
        for s in [
            "EventCode=4688",
            "EventCode=3, 22",
            "EventCode=4103, 4104, 4105, 4106",
            "EventCode=4778, EventCode=4779",
            "EventCode=5005 (WLAN), EventCode=302 (Bluetooth)",
        ] {
            assert_eq!(channel_form(s), ChannelForm::EventCode, "{s}");
            assert_eq!(machine_channel(s).as_deref(), Some(s));
        }
    }

    #[test]
    fn identifiers() {
        for s in [
            "execve",
            "open, write",
            "socket/connect",
            "ES_EVENT_TYPE_NOTIFY_EXEC",
            "process_events",
            "RunInstances",
            "conn.log",
            "openssl|tar|dd",
            "CreateTrafficMirrorSession / ModifyTrafficMirrorTarget",
            "PATH",
        ] {
            assert_eq!(channel_form(s), ChannelForm::Identifier, "{s}");
            assert_eq!(machine_channel(s).as_deref(), Some(s));
        }
        // Trailing blanks are not part of the identifier.
        assert_eq!(machine_channel("HTTP ").as_deref(), Some("HTTP"));
    }

    #[test]
    fn identifier_with_text() {
        let s = "execve: Processes launched with LD_PRELOAD pointing elsewhere";
        assert_eq!(channel_form(s), ChannelForm::IdentifierText);
        assert_eq!(machine_channel(s).as_deref(), Some("execve"));
        let s = "open, write: changes under /boot";
        assert_eq!(channel_form(s), ChannelForm::IdentifierText);
        assert_eq!(machine_channel(s).as_deref(), Some("open, write"));
        assert_eq!(
            machine_channel("openat/read/mmap: shared objects from odd paths").as_deref(),
            Some("openat/read/mmap")
        );
        let (ch, text) = split_channel(s);
        assert_eq!(ch.as_deref(), Some("open, write"));
        assert_eq!(text.as_deref(), Some(s));
    }

    #[test]
    fn prose_and_none() {
        for s in [
            "log stream --info --predicate 'eventMessage CONTAINS \"exec\"'",
            "Send/Receive emails with odd attachments",
            "Create / Update: scripts with triggers",
            "ssm:GetCommandInvocation",
            "process:exec",
            "/var/log/syslog",
            "",
        ] {
            assert_eq!(channel_form(s), ChannelForm::Prose, "{s:?}");
            assert_eq!(machine_channel(s), None);
        }
        assert_eq!(channel_form("None"), ChannelForm::None);
        assert_eq!(machine_channel("None").as_deref(), Some("None"));
        assert_eq!(split_channel("None"), (Some("None".into()), None));
        assert_eq!(
            split_channel("free text here"),
            (None, Some("free text here".into()))
        );
    }
}
