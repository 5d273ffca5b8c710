//! Parse of ATT&CK analytic log-source references (telemetry-facts.md section 3.5): normalise the
//! name, find its platform family and provider, read the event out of the channel, assign a kind.

use super::tables::SpecificForm;
use super::{ParsedRef, RefKind, Telemetry};
use crate::attack::channel::{channel_form, ChannelForm};
use crate::attack::LogSourceRef;

/// Family given to placeholder names.
pub(crate) const NO_FAMILY: &str = "n/a";

impl Telemetry {
    /// Parses one analytic (or data component) log-source reference.
    pub fn parse_ref(&self, r: &LogSourceRef) -> ParsedRef {
        let name = self.normalise_name(&r.name);
        let form = ref_form(r);
        let channel = r.channel.as_deref().unwrap_or("");
        let (event_ids, events) = match form {
            ChannelForm::EventCode => (event_codes(channel), Vec::new()),
            ChannelForm::Identifier | ChannelForm::IdentifierText => {
                (Vec::new(), identifiers(channel))
            }
            ChannelForm::Prose | ChannelForm::None => (Vec::new(), Vec::new()),
        };
        let placeholder = self.placeholders_ci.contains(&name.to_lowercase());
        let (family, host_side) = if placeholder {
            (NO_FAMILY.to_string(), false)
        } else {
            self.family_of(&name)
        };
        let windows_channel = self.windows_channel_of(&name);
        let provider = match &windows_channel {
            Some(ch) => format!("{}:{ch}", prefix_of(&name)),
            None => name.clone(),
        };
        let kind = if placeholder || form == ChannelForm::None {
            RefKind::Placeholder
        } else if host_side && self.names.host_families.contains(&family) {
            if self.is_specific(&name, form) {
                RefKind::HostSpecific
            } else {
                RefKind::HostVague
            }
        } else {
            RefKind::Environment
        };
        ParsedRef {
            data_component: r.data_component.clone(),
            name,
            platform_family: family,
            provider,
            windows_channel,
            event_ids,
            events,
            form,
            kind,
        }
    }

    /// Trims the name and applies the spelling table (exact first, then case-insensitive).
    pub fn normalise_name(&self, raw: &str) -> String {
        let t = raw.trim();
        if let Some(fixed) = self.names.spelling.get(t) {
            return fixed.clone();
        }
        if let Some(fixed) = self.spelling_ci.get(&t.to_lowercase()) {
            return fixed.clone();
        }
        t.to_string()
    }

    /// Platform family of a normalised name and whether it may count as host-side.
    pub(crate) fn family_of(&self, name: &str) -> (String, bool) {
        let lower = name.to_lowercase();
        if let Some((family, host_side)) = self.names_ci.get(&lower) {
            return (family.clone(), *host_side);
        }
        if self.placeholders_ci.contains(&lower) {
            return (NO_FAMILY.to_string(), false);
        }
        match self.prefix_family.get(&prefix_of(name).to_lowercase()) {
            Some(f) => (f.clone(), true),
            None => ("unknown".to_string(), false),
        }
    }

    /// The real channel behind `WinEventLog:<x>`.
    pub(crate) fn windows_channel_of(&self, name: &str) -> Option<String> {
        let (prefix, suffix) = name.split_once(':')?;
        if !prefix.eq_ignore_ascii_case("WinEventLog") {
            return None;
        }
        let suffix = suffix.trim();
        Some(
            self.windows_channels_ci
                .get(&suffix.to_lowercase())
                .cloned()
                .unwrap_or_else(|| suffix.to_string()),
        )
    }

    fn is_specific(&self, name: &str, form: ChannelForm) -> bool {
        self.names.specific.iter().any(|rule| {
            pattern_matches(&rule.pattern, name)
                && match rule.form {
                    SpecificForm::EventCode => form == ChannelForm::EventCode,
                    SpecificForm::Identifier => {
                        matches!(form, ChannelForm::Identifier | ChannelForm::IdentifierText)
                    }
                }
        })
    }

    /// True for a reference the classifier may set aside: a network-traffic component seen by a
    /// sensor outside the host.
    pub(crate) fn is_network_sensor(&self, p: &ParsedRef, dc_name: Option<&str>) -> bool {
        self.is_network_dc(&p.data_component, dc_name)
            && !matches!(p.kind, RefKind::HostSpecific | RefKind::HostVague)
    }

    /// True when the data component is one of the network-traffic components.
    pub(crate) fn is_network_dc(&self, id: &str, name: Option<&str>) -> bool {
        self.names.network_sensor.iter().any(|d| {
            d.id.eq_ignore_ascii_case(id) || name.is_some_and(|n| d.name.eq_ignore_ascii_case(n))
        })
    }

    pub(crate) fn is_cloud_family(&self, family: &str) -> bool {
        self.names.cloud_families.iter().any(|f| f == family)
    }

    pub(crate) fn is_sysmon_source(&self, source: &str) -> bool {
        self.sysmon_ci.contains(&source.to_lowercase())
    }

    /// Lower-cases a named event and drops the configured prefixes, so `ES_EVENT_TYPE_NOTIFY_EXEC`,
    /// `es_event_exec` and `exec` compare equal.
    pub(crate) fn event_key(&self, event: &str) -> String {
        let lower = event.trim().to_lowercase();
        for p in &self.names.event_name_prefixes {
            if let Some(rest) = lower.strip_prefix(&p.to_lowercase()) {
                if !rest.is_empty() {
                    return rest.to_string();
                }
            }
        }
        lower
    }
}

/// The channel form of a reference. The knowledge base keeps only the identifier part of
/// `identifier: text` channels, so the text decides between the two identifier forms.
fn ref_form(r: &LogSourceRef) -> ChannelForm {
    match (&r.channel, &r.channel_text) {
        (None, _) => ChannelForm::Prose,
        (Some(c), text) => {
            let f = channel_form(c);
            if f == ChannelForm::Identifier
                && text
                    .as_deref()
                    .is_some_and(|t| channel_form(t) == ChannelForm::IdentifierText)
            {
                ChannelForm::IdentifierText
            } else {
                f
            }
        }
    }
}

/// `WinEventLog` of `WinEventLog:Security`; the whole name when there is no colon.
pub(crate) fn prefix_of(name: &str) -> &str {
    name.split_once(':').map_or(name, |(p, _)| p).trim()
}

/// `pattern` equals `name` (case-insensitive), or ends in `*` and is a prefix of it.
pub(crate) fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        None => pattern.eq_ignore_ascii_case(name.trim()),
    }
}

/// Event numbers of an `EventCode=` channel: `EventCode=4778, EventCode=4779` and
/// `EventCode=5005 (WLAN), EventCode=302 (Bluetooth)` included. Sorted, deduplicated.
pub(crate) fn event_codes(channel: &str) -> Vec<u32> {
    let mut out: Vec<u32> = channel
        .split(',')
        .filter_map(|part| {
            let p = part.trim();
            let p = p.strip_prefix("EventCode=").unwrap_or(p).trim_start();
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Tokens of an identifier channel, in order, deduplicated (`socket/connect` -> `socket`, `connect`).
pub(crate) fn identifiers(channel: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in channel.split([',', '/', '|']).map(str::trim) {
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, channel: Option<&str>, text: Option<&str>) -> LogSourceRef {
        LogSourceRef {
            data_component: "DC0032".into(),
            name: name.into(),
            channel: channel.map(Into::into),
            channel_text: text.map(Into::into),
            facts: Vec::new(),
        }
    }

    fn parse(name: &str, channel: Option<&str>) -> ParsedRef {
        Telemetry::embedded().parse_ref(&r(name, channel, None))
    }

    #[test]
    fn section_3_5_examples() {
        let p = parse("WinEventLog:Security", Some("EventCode=4688"));
        assert_eq!(p.platform_family, "windows");
        assert_eq!(p.provider, "WinEventLog:Security");
        assert_eq!(p.windows_channel.as_deref(), Some("Security"));
        assert_eq!(p.event_ids, vec![4688]);
        assert_eq!(
            (p.form, p.kind),
            (ChannelForm::EventCode, RefKind::HostSpecific)
        );

        let p = parse("WinEventLog:Sysmon", Some("EventCode=3, 22"));
        assert_eq!(
            p.provider,
            "WinEventLog:Microsoft-Windows-Sysmon/Operational"
        );
        assert_eq!(p.event_ids, vec![3, 22]);
        assert_eq!(p.kind, RefKind::HostSpecific);

        let p = parse(
            "WinEventLog:PowerShell",
            Some("EventCode=4103, 4104, 4105, 4106"),
        );
        assert_eq!(
            p.provider,
            "WinEventLog:Microsoft-Windows-PowerShell/Operational"
        );
        assert_eq!(p.event_ids, vec![4103, 4104, 4105, 4106]);

        let p = parse("auditd:SYSCALL", Some("execve"));
        assert_eq!(
            (p.platform_family.as_str(), p.provider.as_str()),
            ("linux", "auditd:SYSCALL")
        );
        assert_eq!(p.events, vec!["execve"]);
        assert_eq!(
            (p.form, p.kind),
            (ChannelForm::Identifier, RefKind::HostSpecific)
        );

        assert_eq!(
            parse("auditd:SYSCALL", Some("open, write")).events,
            vec!["open", "write"]
        );

        let p = Telemetry::embedded().parse_ref(&r(
            "auditd:EXECVE",
            Some("execve"),
            Some("execve: Processes launched with LD_PRELOAD/LD_LIBRARY_PATH p"),
        ));
        assert_eq!(p.events, vec!["execve"]);
        assert_eq!(
            (p.form, p.kind),
            (ChannelForm::IdentifierText, RefKind::HostSpecific)
        );

        let p = parse("macos:endpointsecurity", Some("ES_EVENT_TYPE_NOTIFY_EXEC"));
        assert_eq!(
            (p.platform_family.as_str(), p.kind),
            ("macos", RefKind::HostSpecific)
        );

        // Prose channels reach the knowledge base as `None`.
        let p = parse("macos:unifiedlog", None);
        assert_eq!((p.form, p.kind), (ChannelForm::Prose, RefKind::HostVague));
        assert!(p.events.is_empty());

        let p = parse("AWS:CloudTrail", Some("RunInstances"));
        assert_eq!(
            (p.platform_family.as_str(), p.kind),
            ("iaas:aws", RefKind::Environment)
        );
        assert_eq!(p.events, vec!["RunInstances"]);

        let p = parse("NSM:Flow", Some("conn.log"));
        assert_eq!(
            (p.platform_family.as_str(), p.kind),
            ("network", RefKind::Environment)
        );

        let p = parse("Internet Scan", Some("None"));
        assert_eq!(
            (p.platform_family.as_str(), p.form, p.kind),
            ("n/a", ChannelForm::None, RefKind::Placeholder)
        );

        let p = parse("linus:syslog", Some("None"));
        assert_eq!(
            (p.name.as_str(), p.platform_family.as_str()),
            ("linux:syslog", "linux")
        );
        assert_eq!(p.kind, RefKind::Placeholder);
    }

    #[test]
    fn irregular_names_and_channels() {
        assert_eq!(parse("NSM:FLow", None).name, "NSM:Flow");
        assert_eq!(parse("networkconfig ", None).platform_family, "network");
        let p = parse("wineventlog:dhcp", None);
        assert_eq!(
            (p.name.as_str(), p.kind),
            ("WinEventLog:DHCP", RefKind::HostVague)
        );
        assert_eq!(
            parse(
                "WinEventLog:Security",
                Some("EventCode=4778, EventCode=4779")
            )
            .event_ids,
            vec![4778, 4779]
        );
        assert_eq!(
            parse(
                "WinEventLog:System",
                Some("EventCode=5005 (WLAN), EventCode=302 (Bluetooth)")
            )
            .event_ids,
            vec![302, 5005]
        );
        // EDR is collected on the host but is vendor-specific: host-side, never specific.
        assert_eq!(parse("EDR:scriptblock", Some("x")).kind, RefKind::HostVague);
        // linux:Sysmon is the only non-Windows name with EventCode.
        assert_eq!(
            parse("linux:Sysmon", Some("EventCode=1")).kind,
            RefKind::HostSpecific
        );
        // Unified-log identifiers are predicates, not events.
        assert_eq!(
            parse("macos:unifiedlog", Some("exec")).kind,
            RefKind::HostVague
        );
        assert_eq!(
            parse("Windows Firewall Log", None).kind,
            RefKind::Environment
        );
        assert_eq!(
            parse("SomethingNew:log", Some("x")).platform_family,
            "unknown"
        );
    }

    #[test]
    fn event_keys_fold_esf_spellings() {
        let t = Telemetry::embedded();
        assert_eq!(t.event_key("ES_EVENT_TYPE_NOTIFY_EXEC"), "exec");
        assert_eq!(t.event_key("es_event_exec"), "exec");
        assert_eq!(t.event_key("exec"), "exec");
    }
}
