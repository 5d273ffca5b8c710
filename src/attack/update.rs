//! `attack update`: download an official ATT&CK STIX bundle into a per-user cache.
//!
//! The cache lives in `$XDG_CACHE_HOME/attacktrace` (else `~/.cache/attacktrace`) as
//! `<domain>-attack.json` plus `<domain>-attack.meta.json` (URL, version, SHA-256, size). A download
//! is only installed after it parsed as ATT&CK data of the requested domain, and both files are
//! written atomically, so an offline run, a server error or a truncated body leaves the previous
//! cache exactly as it was. Once present, the enterprise cache replaces the embedded catalog
//! (see `cli::load_kb` for the precedence).

use super::model::KnowledgeBase;
use super::stix::{load_bundle, load_path, AttackError, LoadOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The official bundles are about 50 MB; anything far larger is not ATT&CK data.
const MAX_BYTES: u64 = 512 * 1024 * 1024;

/// What the cache records beside a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheMeta {
    /// `enterprise-attack`, `mobile-attack` or `ics-attack`.
    pub domain: String,
    /// ATT&CK release read from the bundle's collection object.
    pub version: String,
    pub url: String,
    /// Lower-case hex SHA-256 of the bundle file.
    pub sha256: String,
    pub bytes: u64,
}

/// Why `attack update` failed; the previous cache (if any) is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Neither `XDG_CACHE_HOME` nor `HOME` is set.
    #[error("no cache directory: set XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    #[error("unknown ATT&CK domain `{0}` (expected enterprise, mobile or ics)")]
    UnknownDomain(String),
    /// Connection, HTTP status or body read failed.
    #[error("download of {url} failed: {message}; {KEPT}")]
    Download { url: String, message: String },
    /// The body is not ATT&CK data of the requested domain.
    #[error("{url} did not return usable ATT&CK data: {message}; {KEPT}")]
    Invalid { url: String, message: String },
    /// The body does not load as ATT&CK data.
    #[error("{url} did not return usable ATT&CK data: {source}; {KEPT}")]
    NotAttack {
        url: String,
        #[source]
        source: AttackError,
    },
    #[error("cannot write {}: {source}; {KEPT}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

const KEPT: &str = "the previous cache (if any) is unchanged";

/// `enterprise` / `enterprise-attack` -> `enterprise-attack`.
pub fn domain_name(domain: &str) -> Result<String, UpdateError> {
    let short = domain.trim().to_ascii_lowercase();
    let short = short.strip_suffix("-attack").unwrap_or(&short);
    match short {
        "enterprise" | "mobile" | "ics" => Ok(format!("{short}-attack")),
        _ => Err(UpdateError::UnknownDomain(domain.to_string())),
    }
}

/// The official attack-stix-data download for a domain (`enterprise-attack`).
pub fn default_url(domain: &str) -> String {
    format!("https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/{domain}/{domain}.json")
}

/// `$XDG_CACHE_HOME/attacktrace`, else `$HOME/.cache/attacktrace`.
pub fn cache_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    nonempty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| nonempty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("attacktrace"))
}

pub fn bundle_path(dir: &Path, domain: &str) -> PathBuf {
    dir.join(format!("{domain}.json"))
}

pub fn meta_path(dir: &Path, domain: &str) -> PathBuf {
    dir.join(format!("{domain}.meta.json"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn fetch(url: &str) -> Result<Vec<u8>, UpdateError> {
    let err = |message: String| UpdateError::Download {
        url: url.to_string(),
        message,
    };
    let tls = native_tls::TlsConnector::new().map_err(|e| err(format!("TLS setup: {e}")))?;
    let agent = ureq::AgentBuilder::new()
        .tls_connector(std::sync::Arc::new(tls))
        .timeout_connect(Duration::from_secs(15))
        .timeout(Duration::from_secs(300))
        .build();
    let resp = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, r) => err(format!("HTTP {code} {}", r.status_text())),
        ureq::Error::Transport(t) => err(t.to_string()),
    })?;
    let expected: Option<u64> = resp.header("content-length").and_then(|v| v.parse().ok());
    let mut body = Vec::new();
    resp.into_reader()
        .take(MAX_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| err(format!("reading the body: {e}")))?;
    if body.len() as u64 > MAX_BYTES {
        return Err(err(format!("body larger than {MAX_BYTES} bytes")));
    }
    if let Some(n) = expected {
        if n != body.len() as u64 {
            return Err(err(format!("truncated body: {} of {n} bytes", body.len())));
        }
    }
    Ok(body)
}

/// Downloads `url`, checks it is a bundle of `domain` (`enterprise-attack`), and installs it in
/// `dir` with its metadata. Returns the metadata of the installed bundle.
pub fn update(url: &str, domain: &str, dir: &Path) -> Result<CacheMeta, UpdateError> {
    let body = fetch(url)?;
    let invalid = |message: String| UpdateError::Invalid {
        url: url.to_string(),
        message,
    };
    let kb = load_bundle(&body, url, &LoadOptions::default()).map_err(|source| {
        UpdateError::NotAttack {
            url: url.to_string(),
            source,
        }
    })?;
    if kb.source.domain != domain {
        return Err(invalid(format!(
            "it is `{}`, not `{domain}`",
            kb.source.domain
        )));
    }
    if kb.techniques.is_empty() {
        return Err(invalid("it holds no techniques".to_string()));
    }
    let meta = CacheMeta {
        domain: domain.to_string(),
        version: kb.source.version.clone(),
        url: url.to_string(),
        sha256: sha256_hex(&body),
        bytes: body.len() as u64,
    };
    let io = |path: &Path, source: std::io::Error| UpdateError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let bundle = bundle_path(dir, domain);
    crate::output::write_atomic(&bundle, &body).map_err(|e| io(&bundle, e))?;
    let meta_file = meta_path(dir, domain);
    let json = serde_json::to_string_pretty(&meta).unwrap_or_default() + "\n";
    crate::output::write_atomic(&meta_file, json.as_bytes()).map_err(|e| io(&meta_file, e))?;
    Ok(meta)
}

/// The cached bundle of `domain` and its metadata, when both exist and the metadata parses.
pub fn cached(dir: &Path, domain: &str) -> Option<(PathBuf, CacheMeta)> {
    let bundle = bundle_path(dir, domain);
    let bytes =
        crate::input::read_capped(&meta_path(dir, domain), crate::input::DEFAULT_CAP).ok()?;
    let meta: CacheMeta = serde_json::from_slice(&bytes).ok()?;
    bundle.is_file().then_some((bundle, meta))
}

/// Loads the cached bundle of `domain`; `None` when there is no cache. The origin names the cache
/// so every report shows where its data came from.
pub fn load_cached(
    dir: &Path,
    domain: &str,
    opts: &LoadOptions,
) -> Option<Result<KnowledgeBase, AttackError>> {
    let (bundle, meta) = cached(dir, domain)?;
    Some(load_path(&bundle, opts).map(|mut kb| {
        kb.source.origin = format!(
            "cache {} (sha256 {})",
            bundle.display(),
            meta.sha256.get(..12).unwrap_or(&meta.sha256)
        );
        kb
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_urls() {
        assert_eq!(domain_name("ICS").unwrap(), "ics-attack");
        assert_eq!(domain_name("mobile-attack").unwrap(), "mobile-attack");
        assert!(domain_name("pre").is_err());
        assert_eq!(
            default_url("enterprise-attack"),
            "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
