//! Classification of Sigma `attack.*` tags.
//!
//! Tags are the only link a rule declares to ATT&CK, so the loader classifies them once; the link index
//! and the lints work on [`AttackTag`] values. This module knows the *shape* of ATT&CK identifiers only,
//! never a list of them: whether `T1059` or `execution` exists is decided later against the STIX data.

use super::model::AttackTag;

/// Classifies one tag; `None` when it is not in the `attack.` namespace (matched case-insensitively)
/// or has nothing after the prefix.
///
/// ID-shaped tags (one to three letters, then digits, optionally `.digits`) are identifiers:
/// `t`+4 digits (+`.`3 digits) is a technique, `g`/`s`+4 digits a group/software, and every other
/// ID shape (`m1036`, `ds0009`, `c0010`, `ta0002`, even a malformed `t1059.1`) is `Other`, upper-cased,
/// so a lint can flag it instead of mistaking it for a tactic. Anything else is a tactic shortname.
pub fn parse_attack_tag(tag: &str) -> Option<AttackTag> {
    let rest = strip_prefix_ignore_case(tag.trim(), "attack.")?;
    if rest.is_empty() {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    if let Some((letters, digits, sub)) = id_shape(&lower) {
        let upper = lower.to_ascii_uppercase();
        let four = digits.len() == 4;
        return Some(match letters {
            "t" if four && sub.is_none_or(|s| s.len() == 3) => AttackTag::Technique(upper),
            "g" if four && sub.is_none() => AttackTag::Group(upper),
            "s" if four && sub.is_none() => AttackTag::Software(upper),
            _ => AttackTag::Other(upper),
        });
    }
    Some(AttackTag::Tactic(lower.replace('_', "-")))
}

/// Group of a tag in the conventional order, lowest first: ATT&CK tactics, techniques, other
/// ATT&CK tags (groups, software, other IDs), then other namespaces. The order within a group is
/// free. `check`'s `tag_order` and `check --fix` both use it.
pub fn tag_rank(tag: &str) -> u8 {
    match parse_attack_tag(tag) {
        Some(AttackTag::Tactic(_)) => 0,
        Some(AttackTag::Technique(_)) => 1,
        Some(_) => 2,
        None => 3,
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Splits `ds0009` / `t1059.001` into (letters, digits, optional sub-digits) when the whole string has
/// that shape.
fn id_shape(s: &str) -> Option<(&str, &str, Option<&str>)> {
    let letters_end = s.find(|c: char| !c.is_ascii_lowercase())?;
    if !(1..=3).contains(&letters_end) {
        return None;
    }
    let (letters, tail) = s.split_at(letters_end);
    let (digits, sub) = match tail.split_once('.') {
        Some((d, sub)) => (d, Some(sub)),
        None => (tail, None),
    };
    let all_digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    (all_digits(digits) && sub.is_none_or(all_digits)).then_some((letters, digits, sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> AttackTag {
        AttackTag::Technique(s.into())
    }

    #[test]
    fn rank_orders_tactics_techniques_other_attack_then_other_namespaces() {
        let ranks: Vec<u8> = [
            "attack.execution",
            "attack.t1059.001",
            "attack.g0016",
            "cve.2021-44228",
        ]
        .iter()
        .map(|t| tag_rank(t))
        .collect();
        assert_eq!(ranks, vec![0, 1, 2, 3]);
    }

    #[test]
    fn techniques_are_upper_cased() {
        assert_eq!(parse_attack_tag("attack.t1059"), Some(t("T1059")));
        assert_eq!(parse_attack_tag("attack.t1059.001"), Some(t("T1059.001")));
        assert_eq!(parse_attack_tag("ATTACK.T1059.001"), Some(t("T1059.001")));
        assert_eq!(parse_attack_tag(" attack.t1595 "), Some(t("T1595")));
    }

    #[test]
    fn groups_software_and_other_ids() {
        assert_eq!(
            parse_attack_tag("attack.g0016"),
            Some(AttackTag::Group("G0016".into()))
        );
        assert_eq!(
            parse_attack_tag("attack.s0002"),
            Some(AttackTag::Software("S0002".into()))
        );
        for (tag, id) in [
            ("attack.m1036", "M1036"),
            ("attack.ds0009", "DS0009"),
            ("attack.c0010", "C0010"),
            ("attack.ta0002", "TA0002"),
            ("attack.t1059.1", "T1059.1"),
            ("attack.t105", "T105"),
            ("attack.g0016.001", "G0016.001"),
        ] {
            assert_eq!(
                parse_attack_tag(tag),
                Some(AttackTag::Other(id.into())),
                "{tag}"
            );
        }
    }

    #[test]
    fn tactics_are_normalised_shortnames() {
        assert_eq!(
            parse_attack_tag("attack.execution"),
            Some(AttackTag::Tactic("execution".into()))
        );
        assert_eq!(
            parse_attack_tag("attack.Defense_Evasion"),
            Some(AttackTag::Tactic("defense-evasion".into()))
        );
        // Not ID-shaped (letters after digits), so treated as a (probably unknown) tactic name.
        assert_eq!(
            parse_attack_tag("attack.t1059x"),
            Some(AttackTag::Tactic("t1059x".into()))
        );
    }

    #[test]
    fn other_namespaces_are_ignored() {
        for tag in [
            "car.2016-04-005",
            "cve.2021-44228",
            "detection.threat-hunting",
            "attack",
            "attack.",
            "attacker.t1059",
            "",
            "é",
        ] {
            assert_eq!(parse_attack_tag(tag), None, "{tag}");
        }
    }
}
