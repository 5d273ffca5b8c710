//! Loads an ATT&CK STIX bundle (2.0 from mitre/cti or 2.1 from attack-stix-data, any domain) or a
//! compiled catalog into a [`KnowledgeBase`].
//!
//! The bundle is deserialised straight from bytes into slim structs that name only the fields we use;
//! serde skips everything else without building a value tree, which keeps the 37 MB enterprise bundle
//! well under the start-up budget. Relationships are then resolved through a STIX-id -> ATT&CK-id map.
//! Fatal problems (not JSON, not a bundle) become an [`AttackError`]; tolerable ones (a relationship
//! to an object that is not in the bundle) are skipped and listed in `KnowledgeBase::warnings`.

use super::channel::split_channel;
use super::facts::extract as extract_facts;
use super::model::*;
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// STIX id -> `DCxxxx` for data components, generated from enterprise v18.1.
const DATA_COMPONENT_IDS: &str = include_str!("../../mappings/attack/data-component-ids.yaml");

/// The STIX-id -> DC-ID table, parsed once. It is embedded and checked by a test, so a parse
/// failure is a build defect: it fails loudly instead of silently losing every v17 DC ID.
fn data_component_ids() -> &'static BTreeMap<String, String> {
    static TABLE: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        serde_norway::from_str(DATA_COMPONENT_IDS)
            .unwrap_or_else(|e| panic!("mappings/attack/data-component-ids.yaml: {e}"))
    })
}

/// Caller's choices for loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// ATT&CK version to record when the data itself does not carry one (`--attack-version`).
    pub attack_version: Option<String>,
}

/// A problem that stops loading.
#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file, or larger than [`crate::input::BUNDLE_CAP`].
    #[error(transparent)]
    Read(crate::input::ReadError),
    /// Malformed JSON or a value of the wrong type; `line`/`column` as reported by serde_json, and
    /// `message` its text without the position (which the fields carry).
    #[error("{origin}:{line}:{column}: invalid ATT&CK JSON: {message}")]
    Json {
        origin: String,
        line: usize,
        column: usize,
        message: String,
        #[source]
        source: serde_json::Error,
    },
    /// Valid JSON that is neither a STIX bundle nor a compiled catalog.
    #[error("{origin}: not ATT&CK data: {reason}")]
    NotAttackData { origin: String, reason: String },
}

impl AttackError {
    fn json(origin: &str, e: serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its message; we carry them as fields instead.
        let msg = e.to_string();
        let message = match msg.rfind(" at line ") {
            Some(i) if e.line() > 0 => msg[..i].to_string(),
            _ => msg,
        };
        AttackError::Json {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message,
            source: e,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Raw STIX shapes: only the fields we read. `null` is accepted wherever a list or string is expected.

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct RawBundle {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    spec_version: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    objects: Vec<RawObject>,
}

#[derive(Deserialize, Default)]
struct RawRef {
    #[serde(default, deserialize_with = "null_default")]
    source_name: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct RawPhase {
    #[serde(default, deserialize_with = "null_default")]
    kill_chain_name: String,
    #[serde(default, deserialize_with = "null_default")]
    phase_name: String,
}

#[derive(Deserialize)]
struct RawLogSource {
    #[serde(default)]
    x_mitre_data_component_ref: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    name: String,
    #[serde(default, deserialize_with = "null_default")]
    channel: String,
}

#[derive(Deserialize)]
struct RawMutable {
    #[serde(default, deserialize_with = "null_default")]
    field: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawObject {
    #[serde(rename = "type", deserialize_with = "null_default")]
    kind: String,
    #[serde(deserialize_with = "null_default")]
    id: String,
    spec_version: Option<String>,
    name: Option<String>,
    description: Option<String>,
    revoked: Option<bool>,
    x_mitre_deprecated: Option<bool>,
    #[serde(deserialize_with = "null_default")]
    external_references: Vec<RawRef>,
    #[serde(deserialize_with = "null_default")]
    kill_chain_phases: Vec<RawPhase>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_platforms: Vec<String>,
    x_mitre_is_subtechnique: Option<bool>,
    x_mitre_detection: Option<String>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_data_sources: Vec<String>,
    x_mitre_shortname: Option<String>,
    #[serde(deserialize_with = "null_default")]
    tactic_refs: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_domains: Vec<String>,
    x_mitre_version: Option<String>,
    #[serde(deserialize_with = "null_default")]
    aliases: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_aliases: Vec<String>,
    relationship_type: Option<String>,
    source_ref: Option<String>,
    target_ref: Option<String>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_analytic_refs: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_log_source_references: Vec<RawLogSource>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_mutable_elements: Vec<RawMutable>,
    #[serde(deserialize_with = "null_default")]
    x_mitre_log_sources: Vec<RawLogSource>,
    x_mitre_data_source_ref: Option<String>,
}

impl RawObject {
    fn revoked(&self) -> bool {
        self.revoked.unwrap_or(false)
    }
    fn deprecated(&self) -> bool {
        self.x_mitre_deprecated.unwrap_or(false)
    }
    /// The ATT&CK reference (`mitre-attack`, `mitre-mobile-attack`, `mitre-ics-attack`) carrying the ID.
    fn mitre_ref(&self) -> Option<&RawRef> {
        self.external_references.iter().find(|r| {
            r.source_name.starts_with("mitre-")
                && r.external_id.as_deref().is_some_and(|s| !s.is_empty())
        })
    }
    fn attack_id(&self) -> Option<String> {
        self.mitre_ref()
            .and_then(|r| r.external_id.as_deref())
            .map(|s| s.trim().to_ascii_uppercase())
    }
    fn name(&self) -> String {
        self.name.clone().unwrap_or_default()
    }
    /// Citation targets: every external reference except the ATT&CK one itself.
    fn citations(&self) -> Vec<ExternalReference> {
        let own = self.mitre_ref().map(|r| r.source_name.as_str());
        self.external_references
            .iter()
            .filter(|r| !r.source_name.is_empty() && Some(r.source_name.as_str()) != own)
            .map(|r| ExternalReference {
                source_name: r.source_name.clone(),
                url: r.url.clone(),
                description: r.description.clone(),
            })
            .collect()
    }
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------------

/// Loads a file: a STIX bundle or a compiled catalog (the serde form of [`KnowledgeBase`]).
pub fn load_path(path: &Path, opts: &LoadOptions) -> Result<KnowledgeBase, AttackError> {
    use crate::input::{read_capped, ReadError, BUNDLE_CAP};
    let bytes = read_capped(path, BUNDLE_CAP).map_err(|e| match e {
        ReadError::Io { path, source } => AttackError::Io { path, source },
        e => AttackError::Read(e),
    })?;
    let origin = path.display().to_string();
    let mut kb = if first_key(&bytes).as_deref() == Some("source") {
        load_catalog(&bytes, &origin, opts)?
    } else {
        load_bundle(&bytes, &origin, opts)?
    };
    kb.source.sha256 = Some(super::update::sha256_hex(&bytes));
    Ok(kb)
}

/// The first key of the top-level JSON object, read without parsing the rest. A compiled catalog starts
/// with `"source"`; a bundle with `"type"`, `"id"` or `"objects"`.
fn first_key(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(&bytes[..bytes.len().min(256)])
        .ok()
        .or_else(|| {
            // The 256-byte cut may split a UTF-8 sequence; fall back to a shorter valid prefix.
            (1..4).find_map(|k| {
                std::str::from_utf8(&bytes[..bytes.len().min(256).saturating_sub(k)]).ok()
            })
        })?;
    let s = s.trim_start_matches('\u{feff}').trim_start();
    let s = s.strip_prefix('{')?.trim_start();
    let s = s.strip_prefix('"')?;
    s.find('"').map(|i| s[..i].to_string())
}

/// Parses a compiled catalog; `origin` becomes `source.origin` and `version_from` becomes `catalog`.
pub fn load_catalog(
    bytes: &[u8],
    origin: &str,
    opts: &LoadOptions,
) -> Result<KnowledgeBase, AttackError> {
    let mut kb: KnowledgeBase =
        serde_json::from_slice(bytes).map_err(|e| AttackError::json(origin, e))?;
    kb.source.origin = origin.to_string();
    if kb.source.version.is_empty() || kb.source.version == "unknown" {
        match &opts.attack_version {
            Some(v) => {
                kb.source.version = v.clone();
                kb.source.version_from = VersionFrom::User;
            }
            None => {
                kb.source.version = "unknown".into();
                kb.source.version_from = VersionFrom::Unknown;
            }
        }
    } else {
        kb.source.version_from = VersionFrom::Catalog;
    }
    kb.index();
    Ok(kb)
}

/// The version in a file name such as `enterprise-attack-18.1.json` or `attack-v17.json`.
fn version_from_file_name(origin: &str) -> Option<String> {
    let name = Path::new(origin).file_stem()?.to_str()?;
    let last = name.rsplit(['-', '_']).next()?;
    let v = last.strip_prefix(['v', 'V']).unwrap_or(last);
    let ok = !v.is_empty()
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !v.ends_with('.');
    ok.then(|| v.to_string())
}

/// Domain name from a kill-chain name (`mitre-ics-attack` -> `ics-attack`).
fn domain_from_kill_chain(name: &str) -> Option<String> {
    match name.strip_prefix("mitre-") {
        Some("attack") => Some("enterprise-attack".into()),
        Some(rest) if !rest.is_empty() => Some(rest.to_string()),
        _ => None,
    }
}

/// Parses a STIX bundle. `origin` is used for messages, `source.origin` and the file-name version.
pub fn load_bundle(
    bytes: &[u8],
    origin: &str,
    opts: &LoadOptions,
) -> Result<KnowledgeBase, AttackError> {
    let bundle: RawBundle =
        serde_json::from_slice(bytes).map_err(|e| AttackError::json(origin, e))?;
    match bundle.kind.as_deref() {
        Some("bundle") => {}
        Some(other) => {
            return Err(AttackError::NotAttackData {
                origin: origin.into(),
                reason: format!("top-level \"type\" is {other:?}, expected \"bundle\""),
            })
        }
        None => {
            return Err(AttackError::NotAttackData {
                origin: origin.into(),
                reason: "no top-level \"type\": \"bundle\"".into(),
            })
        }
    }
    Ok(Builder::new(bundle.objects, origin).build(bundle.spec_version, opts))
}

struct Builder {
    objs: Vec<RawObject>,
    origin: String,
    /// STIX id -> index in `objs`.
    by_stix: HashMap<String, usize>,
    /// STIX id -> ATT&CK id (upper case).
    attack_id: HashMap<String, String>,
}

impl Builder {
    fn new(objs: Vec<RawObject>, origin: &str) -> Self {
        let mut by_stix = HashMap::with_capacity(objs.len());
        let mut attack_id = HashMap::new();
        for (i, o) in objs.iter().enumerate() {
            if o.id.is_empty() {
                continue;
            }
            by_stix.entry(o.id.clone()).or_insert(i);
            if let Some(aid) = o.attack_id() {
                attack_id.entry(o.id.clone()).or_insert(aid);
            }
        }
        // v17 data components have no external references, hence no DC ID in the bundle; take it from
        // the STIX-id table, else fall back to the component name so links still work.
        for o in objs.iter().filter(|o| o.kind == "x-mitre-data-component") {
            if o.id.is_empty() || attack_id.contains_key(&o.id) {
                continue;
            }
            let id = data_component_ids()
                .get(&o.id)
                .cloned()
                .or_else(|| o.name.clone());
            if let Some(id) = id.filter(|s| !s.is_empty()) {
                attack_id.insert(o.id.clone(), id);
            }
        }
        Builder {
            objs,
            origin: origin.to_string(),
            by_stix,
            attack_id,
        }
    }

    fn obj(&self, stix: &str) -> Option<&RawObject> {
        self.by_stix.get(stix).map(|&i| &self.objs[i])
    }

    fn of_type<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = (&'s RawObject, String)> + 's {
        self.objs
            .iter()
            .filter(move |o| o.kind == kind)
            .filter_map(move |o| self.attack_id.get(&o.id).map(|id| (o, id.clone())))
    }

    fn build(self, bundle_spec: Option<String>, opts: &LoadOptions) -> KnowledgeBase {
        let mut warnings: BTreeSet<String> = BTreeSet::new();
        let matrices = self.matrices();
        let mut kb = KnowledgeBase {
            source: self.source_info(bundle_spec, opts, &matrices),
            tactics: self.tactics(&matrices, &mut warnings),
            ..KnowledgeBase::default()
        };
        let tactic_pos: HashMap<&str, usize> = kb
            .tactics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.shortname.as_str(), i))
            .collect();
        let mut parts = Parts {
            techniques: self.techniques(&tactic_pos, &mut warnings),
            strategies: self.strategies(&mut warnings),
            groups: self.named(&["intrusion-set"]),
            software: self.named(&["malware", "tool"]),
            campaigns: self.named(&["campaign"]),
            mitigations: self.named(&["course-of-action"]),
            data_sources: self.named(&["x-mitre-data-source"]),
            dc_source: self.data_component_sources(),
            subs: BTreeMap::new(),
        };
        let analytics = self.analytics(&mut warnings);
        let data_components = self.data_components();
        self.relationships(&mut parts, &mut warnings);
        parts.adopt_orphan_subtechniques();
        parts.finish(&mut kb);
        kb.analytics = analytics;
        kb.data_components = data_components.into_values().collect();
        kb.warnings = warnings.into_iter().collect();
        kb.index();
        kb
    }

    /// Matrices: the active ones define the tactic order; a revoked/deprecated matrix (mobile's
    /// old "Network-Based Effects") is used only when nothing else is there.
    fn matrices(&self) -> Vec<&RawObject> {
        let active: Vec<&RawObject> = self
            .objs
            .iter()
            .filter(|o| o.kind == "x-mitre-matrix" && !o.revoked() && !o.deprecated())
            .collect();
        if !active.is_empty() {
            return active;
        }
        self.objs
            .iter()
            .filter(|o| o.kind == "x-mitre-matrix")
            .collect()
    }

    /// Origin, domain, release and STIX version, each from the best evidence the bundle offers.
    fn source_info(
        &self,
        bundle_spec: Option<String>,
        opts: &LoadOptions,
        matrices: &[&RawObject],
    ) -> SourceInfo {
        let collection = self.objs.iter().find(|o| o.kind == "x-mitre-collection");
        let stix_version = bundle_spec
            .or_else(|| self.objs.iter().find_map(|o| o.spec_version.clone()))
            .unwrap_or_else(|| if collection.is_some() { "2.1" } else { "2.0" }.into());
        let (version, version_from) =
            if let Some(v) = collection.and_then(|c| non_empty(&c.x_mitre_version)) {
                (v, VersionFrom::Collection)
            } else if let Some(v) = opts.attack_version.clone().filter(|v| !v.is_empty()) {
                (v, VersionFrom::User)
            } else if let Some(v) = version_from_file_name(&self.origin) {
                (v, VersionFrom::FileName)
            } else {
                ("unknown".to_string(), VersionFrom::Unknown)
            };
        let domain = matrices
            .iter()
            .find_map(|m| {
                m.attack_id()
                    .map(|s| s.to_ascii_lowercase())
                    .filter(|s| s.ends_with("-attack"))
                    .or_else(|| m.x_mitre_domains.first().cloned())
            })
            .or_else(|| collection.and_then(|c| c.x_mitre_domains.first().cloned()))
            .or_else(|| {
                self.objs
                    .iter()
                    .filter(|o| o.kind == "attack-pattern")
                    .flat_map(|o| o.kill_chain_phases.iter())
                    .find_map(|p| domain_from_kill_chain(&p.kill_chain_name))
            })
            .unwrap_or_else(|| "unknown".into());
        SourceInfo {
            origin: self.origin.clone(),
            domain,
            version,
            version_from,
            stix_version,
            has_prose: true,
            sha256: None,
        }
    }

    /// Tactics in matrix order; live tactics that no matrix lists come after, by ATT&CK ID.
    fn tactics(&self, matrices: &[&RawObject], warnings: &mut BTreeSet<String>) -> Vec<Tactic> {
        let mut seen = BTreeSet::new();
        let mut tactic_ids: Vec<&str> = Vec::new();
        for m in matrices {
            for r in &m.tactic_refs {
                match self.obj(r) {
                    Some(t) if t.kind == "x-mitre-tactic" => {
                        if seen.insert(r.as_str()) {
                            tactic_ids.push(r);
                        }
                    }
                    _ => {
                        warnings.insert(format!("matrix refers to missing tactic {r}"));
                    }
                }
            }
        }
        let mut extra: Vec<(String, &str)> = self
            .objs
            .iter()
            .filter(|o| o.kind == "x-mitre-tactic" && !o.revoked() && !o.deprecated())
            .filter(|o| !seen.contains(o.id.as_str()))
            .filter_map(|o| {
                self.attack_id
                    .get(&o.id)
                    .map(|a| (a.clone(), o.id.as_str()))
            })
            .collect();
        extra.sort();
        tactic_ids.extend(extra.into_iter().map(|(_, s)| s));
        let mut tactics = Vec::new();
        for stix in tactic_ids {
            let Some(o) = self.obj(stix) else { continue };
            let Some(id) = self.attack_id.get(stix) else {
                warnings.insert(format!("tactic {stix} has no ATT&CK ID; skipped"));
                continue;
            };
            let shortname = o
                .x_mitre_shortname
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| o.name().to_ascii_lowercase().replace(' ', "-"));
            tactics.push(Tactic {
                id: id.clone(),
                name: o.name(),
                shortname,
                description: non_empty(&o.description),
            });
        }
        tactics
    }

    /// Techniques by ID; links (parent, revoked-by, detections) are filled from relationships later.
    fn techniques(
        &self,
        tactic_pos: &HashMap<&str, usize>,
        warnings: &mut BTreeSet<String>,
    ) -> BTreeMap<String, Technique> {
        let mut techniques: BTreeMap<String, Technique> = BTreeMap::new();
        for (o, id) in self.of_type("attack-pattern") {
            let t = technique(o, id.clone(), tactic_pos);
            // Duplicate IDs do not occur in MITRE data; keep the live copy if a hand-made file has two.
            match techniques.get(&id) {
                Some(prev) if prev.is_active() || !t.is_active() => {
                    warnings.insert(format!("duplicate technique {id}; later copy ignored"));
                }
                _ => {
                    techniques.insert(id, t);
                }
            }
        }
        techniques
    }

    fn strategies(&self, warnings: &mut BTreeSet<String>) -> BTreeMap<String, DetectionStrategy> {
        let mut strategies: BTreeMap<String, DetectionStrategy> = BTreeMap::new();
        for (o, id) in self.of_type("x-mitre-detection-strategy") {
            let mut analytics = Vec::new();
            for r in &o.x_mitre_analytic_refs {
                match self.attack_id.get(r) {
                    Some(a) => analytics.push(a.clone()),
                    None => {
                        warnings.insert(format!(
                            "detection strategy {id} refers to missing analytic {r}"
                        ));
                    }
                }
            }
            strategies.insert(
                id.clone(),
                DetectionStrategy {
                    id,
                    name: o.name(),
                    analytics,
                    techniques: Vec::new(),
                },
            );
        }
        strategies
    }

    /// Analytics sorted by ID, duplicates dropped.
    fn analytics(&self, warnings: &mut BTreeSet<String>) -> Vec<Analytic> {
        let mut analytics = Vec::new();
        for (o, id) in self.of_type("x-mitre-analytic") {
            let log_sources = o
                .x_mitre_log_source_references
                .iter()
                .map(|l| {
                    let dc = l
                        .x_mitre_data_component_ref
                        .as_deref()
                        .and_then(|r| self.attack_id.get(r))
                        .cloned();
                    if dc.is_none() {
                        warnings.insert(format!(
                            "analytic {id}: log source {:?} refers to a missing data component",
                            l.name
                        ));
                    }
                    log_source_ref(dc.unwrap_or_default(), l)
                })
                .collect();
            analytics.push(Analytic {
                id,
                platforms: o.x_mitre_platforms.clone(),
                log_sources,
                mutable_elements: o
                    .x_mitre_mutable_elements
                    .iter()
                    .map(|m| MutableElement {
                        field: m.field.clone(),
                        description: non_empty(&m.description),
                    })
                    .collect(),
                description: non_empty(&o.description),
            });
        }
        analytics.sort_by(|a: &Analytic, b: &Analytic| a.id.cmp(&b.id));
        analytics.dedup_by(|a, b| a.id == b.id);
        analytics
    }

    fn data_components(&self) -> BTreeMap<String, DataComponent> {
        let mut data_components: BTreeMap<String, DataComponent> = BTreeMap::new();
        for (o, id) in self.of_type("x-mitre-data-component") {
            let data_source = o
                .x_mitre_data_source_ref
                .as_deref()
                .filter(|r| !r.is_empty())
                .and_then(|r| self.obj(r))
                .map(|ds| ds.name());
            let log_sources = o
                .x_mitre_log_sources
                .iter()
                .map(|l| log_source_ref(id.clone(), l))
                .collect();
            data_components.insert(
                id.clone(),
                DataComponent {
                    id,
                    name: o.name(),
                    data_source,
                    log_sources,
                    deprecated: o.deprecated(),
                },
            );
        }
        data_components
    }

    /// Groups, software, campaigns, mitigations or data sources of the given STIX types, by ID.
    fn named(&self, kinds: &[&str]) -> BTreeMap<String, NamedObject> {
        kinds
            .iter()
            .flat_map(|k| self.of_type(k))
            .map(|(o, id)| (id.clone(), named_object(o, id)))
            .collect()
    }

    /// v17: a data source covers the techniques its components detect (component ID -> source ID).
    fn data_component_sources(&self) -> HashMap<String, String> {
        self.of_type("x-mitre-data-component")
            .filter_map(|(o, id)| {
                let ds = o.x_mitre_data_source_ref.as_deref()?;
                Some((id, self.attack_id.get(ds)?.clone()))
            })
            .collect()
    }

    /// Applies every usable relationship to `parts`.
    ///
    /// Skipped: relationships that are themselves revoked or deprecated (MITRE retires a link this
    /// way), and usage/mitigation/detection links that touch a revoked object, because MITRE moves
    /// those links to the replacement and the old ones would double-count. `revoked-by` and
    /// `subtechnique-of` are kept for every technique so revoked tags can be resolved and named.
    fn relationships(&self, parts: &mut Parts, warnings: &mut BTreeSet<String>) {
        for r in self.objs.iter().filter(|o| o.kind == "relationship") {
            if r.revoked() || r.deprecated() {
                continue;
            }
            let rtype = r.relationship_type.as_deref().unwrap_or("");
            let (Some(src_ref), Some(tgt_ref)) = (r.source_ref.as_deref(), r.target_ref.as_deref())
            else {
                warnings.insert(format!(
                    "relationship {} lacks source_ref or target_ref",
                    r.id
                ));
                continue;
            };
            let (Some(src), Some(tgt)) = (self.obj(src_ref), self.obj(tgt_ref)) else {
                let missing = if self.obj(src_ref).is_none() {
                    src_ref
                } else {
                    tgt_ref
                };
                warnings.insert(format!(
                    "{rtype} relationship {} refers to missing object {missing}; skipped",
                    r.id
                ));
                continue;
            };
            let (Some(sid), Some(tid)) = (self.attack_id.get(src_ref), self.attack_id.get(tgt_ref))
            else {
                continue; // e.g. ICS `targets` assets without our interest, or objects without IDs
            };
            parts.relate(rtype, (src, sid), (tgt, tid));
        }
    }
}

/// The knowledge base under construction, between the object pass and the relationship pass.
struct Parts {
    techniques: BTreeMap<String, Technique>,
    strategies: BTreeMap<String, DetectionStrategy>,
    groups: BTreeMap<String, NamedObject>,
    software: BTreeMap<String, NamedObject>,
    campaigns: BTreeMap<String, NamedObject>,
    mitigations: BTreeMap<String, NamedObject>,
    data_sources: BTreeMap<String, NamedObject>,
    /// Data component ID -> data source ID (v17).
    dc_source: HashMap<String, String>,
    /// Parent ID -> live sub-technique IDs.
    subs: BTreeMap<String, BTreeSet<String>>,
}

impl Parts {
    /// Records one relationship between two objects with ATT&CK IDs.
    fn relate(&mut self, rtype: &str, src: (&RawObject, &String), tgt: (&RawObject, &String)) {
        let ((src, sid), (tgt, tid)) = (src, tgt);
        let retired_end = src.revoked() || tgt.revoked();
        match (rtype, src.kind.as_str(), tgt.kind.as_str()) {
            ("subtechnique-of", "attack-pattern", "attack-pattern") => {
                if let Some(t) = self.techniques.get_mut(sid) {
                    t.parent = Some(tid.clone());
                    t.is_subtechnique = true;
                    // Only live sub-techniques are listed under the parent; a revoked or
                    // deprecated one still names its parent.
                    if t.is_active() {
                        self.subs
                            .entry(tid.clone())
                            .or_default()
                            .insert(sid.clone());
                    }
                }
            }
            ("revoked-by", "attack-pattern", "attack-pattern") => {
                if let Some(t) = self.techniques.get_mut(sid) {
                    t.revoked_by = Some(tid.clone());
                }
            }
            _ if retired_end => {}
            ("detects", "x-mitre-detection-strategy", "attack-pattern") => {
                if let Some(t) = self.techniques.get_mut(tid) {
                    t.detection_strategies.push(sid.clone());
                }
                if let Some(s) = self.strategies.get_mut(sid) {
                    s.techniques.push(tid.clone());
                }
            }
            ("detects", "x-mitre-data-component", "attack-pattern") => {
                if let Some(t) = self.techniques.get_mut(tid) {
                    t.data_components.push(sid.clone());
                }
                let source = self.dc_source.get(sid);
                if let Some(ds) = source.and_then(|d| self.data_sources.get_mut(d)) {
                    ds.techniques.push(tid.clone());
                }
            }
            ("uses", _, "attack-pattern") => {
                let map = match src.kind.as_str() {
                    "intrusion-set" => &mut self.groups,
                    "malware" | "tool" => &mut self.software,
                    "campaign" => &mut self.campaigns,
                    _ => return,
                };
                if let Some(n) = map.get_mut(sid) {
                    n.techniques.push(tid.clone());
                }
            }
            ("mitigates", "course-of-action", "attack-pattern") => {
                if let Some(n) = self.mitigations.get_mut(sid) {
                    n.techniques.push(tid.clone());
                }
            }
            _ => {}
        }
    }

    /// Sub-techniques without a `subtechnique-of` link still find their parent by ID.
    fn adopt_orphan_subtechniques(&mut self) {
        let ids: BTreeSet<String> = self.techniques.keys().cloned().collect();
        for t in self.techniques.values_mut() {
            if t.parent.is_none() && t.is_subtechnique {
                if let Some((p, _)) = t.id.split_once('.') {
                    if ids.contains(p) {
                        t.parent = Some(p.to_string());
                        if t.is_active() {
                            self.subs
                                .entry(p.to_string())
                                .or_default()
                                .insert(t.id.clone());
                        }
                    }
                }
            }
        }
    }

    /// Moves everything into `kb` with every ID list sorted and deduplicated.
    fn finish(self, kb: &mut KnowledgeBase) {
        let mut techniques = self.techniques;
        for (parent, list) in self.subs {
            if let Some(p) = techniques.get_mut(&parent) {
                p.subtechniques = list.into_iter().collect();
            }
        }
        kb.techniques = techniques
            .into_values()
            .map(|mut t| {
                tidy(&mut t.detection_strategies);
                tidy(&mut t.data_components);
                t
            })
            .collect();
        kb.detection_strategies = self
            .strategies
            .into_values()
            .map(|mut s| {
                tidy(&mut s.techniques);
                s
            })
            .collect();
        let finish = |m: BTreeMap<String, NamedObject>| -> Vec<NamedObject> {
            m.into_values()
                .map(|mut n| {
                    tidy(&mut n.techniques);
                    n
                })
                .collect()
        };
        kb.groups = finish(self.groups);
        kb.software = finish(self.software);
        kb.campaigns = finish(self.campaigns);
        kb.mitigations = finish(self.mitigations);
        kb.data_sources = finish(self.data_sources);
    }
}

fn tidy(v: &mut Vec<String>) {
    v.sort();
    v.dedup();
}

/// A technique from its attack-pattern, tactics in matrix order.
fn technique(o: &RawObject, id: String, tactic_pos: &HashMap<&str, usize>) -> Technique {
    let mut tactics: Vec<String> = Vec::new();
    for p in &o.kill_chain_phases {
        if p.kill_chain_name.starts_with("mitre-")
            && !p.phase_name.is_empty()
            && !tactics.contains(&p.phase_name)
        {
            tactics.push(p.phase_name.clone());
        }
    }
    tactics.sort_by_key(|t| {
        (
            tactic_pos.get(t.as_str()).copied().unwrap_or(usize::MAX),
            t.clone(),
        )
    });
    Technique {
        is_subtechnique: o.x_mitre_is_subtechnique.unwrap_or(id.contains('.')),
        id,
        name: o.name(),
        tactics,
        platforms: o.x_mitre_platforms.clone(),
        parent: None,
        subtechniques: Vec::new(),
        revoked: o.revoked(),
        revoked_by: None,
        deprecated: o.deprecated(),
        detection_strategies: Vec::new(),
        data_sources: o.x_mitre_data_sources.clone(),
        data_components: Vec::new(),
        description: non_empty(&o.description),
        detection_text: non_empty(&o.x_mitre_detection),
        references: o.citations(),
        url: o.mitre_ref().and_then(|r| r.url.clone()),
    }
}

fn log_source_ref(data_component: String, l: &RawLogSource) -> LogSourceRef {
    let (channel, channel_text) = split_channel(&l.channel);
    let facts = channel_text
        .as_deref()
        .map(|t| extract_facts(&l.name, t))
        .unwrap_or_default();
    LogSourceRef {
        data_component,
        name: l.name.clone(),
        channel,
        channel_text,
        facts,
    }
}

fn named_object(o: &RawObject, id: String) -> NamedObject {
    NamedObject {
        id,
        name: o.name(),
        aliases: if o.aliases.is_empty() {
            o.x_mitre_aliases.clone()
        } else {
            o.aliases.clone()
        },
        techniques: Vec::new(),
        revoked: o.revoked(),
        deprecated: o.deprecated(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> LoadOptions {
        LoadOptions::default()
    }

    #[test]
    fn data_component_table_parses() {
        let t: BTreeMap<String, String> = serde_norway::from_str(DATA_COMPONENT_IDS).unwrap();
        assert_eq!(t.len(), 109);
        assert!(t.values().all(|v| v.starts_with("DC")));
    }

    #[test]
    fn file_name_versions() {
        assert_eq!(
            version_from_file_name("/x/enterprise-attack-18.1.json").as_deref(),
            Some("18.1")
        );
        assert_eq!(
            version_from_file_name("attack-v17.json").as_deref(),
            Some("17")
        );
        assert_eq!(version_from_file_name("enterprise-attack.json"), None);
        assert_eq!(version_from_file_name("bundle"), None);
    }

    #[test]
    fn sniffs_first_key() {
        assert_eq!(first_key(b" {\n \"source\": {}").as_deref(), Some("source"));
        assert_eq!(
            first_key(b"{\"type\": \"bundle\"}").as_deref(),
            Some("type")
        );
        assert_eq!(first_key(b"[1]"), None);
    }

    #[test]
    fn truncated_json_is_an_error_with_position() {
        let err =
            load_bundle(b"{\"type\": \"bundle\", \"objects\": [", "x.json", &opts()).unwrap_err();
        match &err {
            AttackError::Json { line, column, .. } => assert!(*line == 1 && *column > 0),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().starts_with("x.json:1:"), "{err}");
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        for input in [
            &b"[]"[..],
            b"{\"type\": \"indicator\"}",
            b"{\"objects\": []}",
            b"{\"type\": \"bundle\", \"objects\": [1, 2]}",
            b"{\"type\": \"bundle\", \"objects\": [{\"type\": \"attack-pattern\", \"name\": 5}]}",
            b"",
            b"\xff\xfe",
        ] {
            assert!(load_bundle(input, "bad.json", &opts()).is_err());
        }
    }

    #[test]
    fn tolerates_missing_fields_and_dangling_refs() {
        let json = br#"{"type": "bundle", "objects": [
            {"type": "attack-pattern", "id": "attack-pattern--1",
             "external_references": [{"source_name": "mitre-attack", "external_id": "t9999"}]},
            {"type": "attack-pattern", "id": "attack-pattern--2"},
            {"type": "relationship", "id": "relationship--1", "relationship_type": "revoked-by",
             "source_ref": "attack-pattern--1", "target_ref": "attack-pattern--404"},
            {"type": "relationship", "id": "relationship--2"},
            {"type": "x-mitre-analytic", "id": "x-mitre-analytic--1",
             "external_references": [{"source_name": "mitre-attack", "external_id": "AN9999"}],
             "x_mitre_log_source_references": [{"x_mitre_data_component_ref": "x-mitre-data-component--404",
                "name": "WinEventLog:Security", "channel": "EventCode=4688"}]},
            {"name": null, "x_mitre_platforms": null}
        ]}"#;
        let kb = load_bundle(json, "enterprise-attack-9.9.json", &opts()).unwrap();
        assert_eq!(kb.techniques.len(), 1);
        assert_eq!(kb.techniques[0].id, "T9999");
        assert_eq!(kb.source.version, "9.9");
        assert_eq!(kb.source.version_from, "file-name");
        assert_eq!(kb.analytics[0].log_sources[0].data_component, "");
        assert_eq!(kb.warnings.len(), 3, "{:?}", kb.warnings);
        assert!(kb.technique("t9999").is_some());
    }

    #[test]
    fn version_precedence() {
        let plain = br#"{"type": "bundle", "objects": []}"#;
        let kb = load_bundle(plain, "bundle.json", &opts()).unwrap();
        assert_eq!(
            (kb.source.version.as_str(), kb.source.version_from.as_str()),
            ("unknown", "unknown")
        );
        let user = LoadOptions {
            attack_version: Some("16.0".into()),
        };
        let kb = load_bundle(plain, "enterprise-attack-18.1.json", &user).unwrap();
        assert_eq!(
            (kb.source.version.as_str(), kb.source.version_from.as_str()),
            ("16.0", "user")
        );
        let coll = br#"{"type": "bundle", "objects": [{"type": "x-mitre-collection", "id": "x-mitre-collection--1",
            "spec_version": "2.1", "x_mitre_version": "17.1"}]}"#;
        let kb = load_bundle(coll, "enterprise-attack-18.1.json", &user).unwrap();
        assert_eq!(
            (kb.source.version.as_str(), kb.source.version_from.as_str()),
            ("17.1", "collection")
        );
        assert_eq!(kb.source.stix_version, "2.1");
    }
}
