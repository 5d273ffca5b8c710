//! Sigma correlation rule templates for techniques where an environment-specific query can be
//! sketched (scanning, password guessing and spraying, denial of service).
//!
//! A template is our own YAML under `mappings/templates/`, named by a guidance family
//! ([`crate::guidance`]). It is `status: experimental`, marks every value the user must set with a
//! `# SET:` comment, and carries the tag [`TEMPLATE_TAG`], which coverage and the card recognise:
//! a template is never counted as coverage, even once loaded as a rule.

/// The tag every template document carries; rules with it are never counted as coverage.
pub const TEMPLATE_TAG: &str = "attacktrace.template";

/// The template files, by the name a family's `template:` uses.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "dos-flood.yml",
        include_str!("../mappings/templates/dos-flood.yml"),
    ),
    (
        "network-scan.yml",
        include_str!("../mappings/templates/network-scan.yml"),
    ),
    (
        "password-spraying.yml",
        include_str!("../mappings/templates/password-spraying.yml"),
    ),
    (
        "web-probe.yml",
        include_str!("../mappings/templates/web-probe.yml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "no correlation template for {id}; templates exist for {} (and their sub-techniques that no other guidance family lists)",
        available.join(", ")
    )]
    NoTemplate { id: String, available: Vec<String> },
}

/// The template text for technique `id` (the most specific guidance family that names one).
pub fn template_for(id: &str) -> Result<&'static str, TemplateError> {
    crate::guidance::family_by_id(id)
        .and_then(|f| f.template.as_deref())
        .and_then(file)
        .ok_or_else(|| TemplateError::NoTemplate {
            id: id.to_string(),
            available: techniques_with_templates(),
        })
}

/// Technique IDs whose family has a template, sorted.
pub fn techniques_with_templates() -> Vec<String> {
    let mut ids: Vec<String> = crate::guidance::guidance_file()
        .families
        .iter()
        .filter(|f| f.template.as_deref().and_then(file).is_some())
        .flat_map(|f| f.matches.iter().cloned())
        .collect();
    ids.sort();
    ids
}

fn file(name: &str) -> Option<&'static str> {
    TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_template_exists_and_is_marked() {
        for f in &crate::guidance::guidance_file().families {
            if let Some(name) = &f.template {
                assert!(
                    file(name).is_some(),
                    "family {} names missing {name}",
                    f.key
                );
            }
        }
        for (name, text) in TEMPLATES {
            let docs = text.split("\n---\n").count();
            assert_eq!(
                text.matches(TEMPLATE_TAG).count(),
                docs + 1, // once per document, once in the header comment
                "{name}: every document carries the template tag"
            );
            assert_eq!(text.matches("status: experimental").count(), docs, "{name}");
            assert!(text.contains("# SET:"), "{name} marks the values to set");
            assert!(
                text.contains("not portable"),
                "{name} says it is not portable"
            );
        }
    }

    #[test]
    fn lookup_by_family() {
        assert!(template_for("T1595.001").unwrap().contains("dst_port"));
        assert!(template_for("t1110.003").unwrap().contains("value_count"));
        assert!(template_for("T1498.001").unwrap().contains("event_count"));
        let err = template_for("T1059").unwrap_err().to_string();
        assert!(err.contains("T1110.003") && err.contains("T1595"), "{err}");
    }
}
