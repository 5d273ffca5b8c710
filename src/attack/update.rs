//! `attack update`: download an official ATT&CK STIX bundle into a per-user cache.
//!
//! The cache lives in `$XDG_CACHE_HOME/attacktrace` (else `~/.cache/attacktrace`) as
//! `<domain>-attack.json` plus `<domain>-attack.meta.json` (URL, version, SHA-256, size). A download
//! is only installed after it parsed as ATT&CK data of the requested domain, and both files are
//! written atomically, so an offline run, a server error or a truncated body leaves the previous
//! cache exactly as it was. The body is streamed to a temporary file in the cache directory (hashed
//! and size-capped as it arrives, never held in memory), and redirects are followed here, on
//! http(s) only. Once present, the enterprise cache replaces the embedded catalog
//! (see `cli::load_kb` for the precedence).

use super::model::KnowledgeBase;
use super::stix::{load_path, AttackError, LoadOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The official bundles are about 50 MB; anything far larger is not ATT&CK data.
#[cfg_attr(not(feature = "update"), allow(dead_code))]
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
    /// The binary was built without the `update` feature (no HTTP client, no OpenSSL).
    #[error("this build of attacktrace has no `attack update` (built without the `update` cargo feature); download the bundle yourself and pass it with --attack FILE")]
    NotBuilt,
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

/// Redirects followed at most; each must stay on http(s).
#[cfg(feature = "update")]
const MAX_REDIRECTS: usize = 5;

#[cfg(feature = "update")]
fn download_error(url: &str) -> impl Fn(String) -> UpdateError + '_ {
    move |message| UpdateError::Download {
        url: url.to_string(),
        message,
    }
}

/// GETs `url`, following at most [`MAX_REDIRECTS`] redirects itself: ureq's own redirect handling
/// panics on a `file://` location, and a location on any other scheme than http(s) is refused.
#[cfg(feature = "update")]
fn get(url: &str) -> Result<ureq::Response, UpdateError> {
    use std::time::Duration;
    let err = download_error(url);
    let tls = native_tls::TlsConnector::new().map_err(|e| err(format!("TLS setup: {e}")))?;
    let agent = ureq::AgentBuilder::new()
        .tls_connector(std::sync::Arc::new(tls))
        .redirects(0)
        .timeout_connect(Duration::from_secs(15))
        .timeout(Duration::from_secs(300))
        .build();
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        if !has_http_scheme(&current) {
            return Err(err(format!(
                "redirect to `{current}` refused: only http and https are followed"
            )));
        }
        let resp = agent.get(&current).call().map_err(|e| match e {
            ureq::Error::Status(code, r) => err(format!("HTTP {code} {}", r.status_text())),
            ureq::Error::Transport(t) => err(t.to_string()),
        })?;
        if !(300..400).contains(&resp.status()) {
            return Ok(resp);
        }
        let Some(location) = resp.header("location") else {
            return Err(err(format!("HTTP {} without a Location", resp.status())));
        };
        current = resolve_location(&current, location);
    }
    Err(err(format!("more than {MAX_REDIRECTS} redirects")))
}

#[cfg_attr(not(feature = "update"), allow(dead_code))]
fn has_http_scheme(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `location` made absolute against `base` (an http(s) URL). A location with a scheme is returned
/// as it is, whatever the scheme: [`get`] decides whether to follow it.
#[cfg_attr(not(feature = "update"), allow(dead_code))]
fn resolve_location(base: &str, location: &str) -> String {
    let location = location.trim();
    let scheme_end = location.find(':').filter(|&i| {
        i > 0
            && location[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !location[..i].contains(['/', '?', '#'])
    });
    if scheme_end.is_some() {
        return location.to_string();
    }
    let scheme_len = base.find("://").map_or(0, |i| i + 3);
    let origin_end = base[scheme_len..]
        .find(['/', '?', '#'])
        .map_or(base.len(), |i| scheme_len + i);
    if location.starts_with("//") {
        return format!("{}{location}", &base[..scheme_len.saturating_sub(2)]);
    }
    if location.starts_with('/') {
        return format!("{}{location}", &base[..origin_end]);
    }
    let path_end = base[origin_end..]
        .find(['?', '#'])
        .map_or(base.len(), |i| origin_end + i);
    let dir_end = base[origin_end..path_end]
        .rfind('/')
        .map_or(origin_end, |i| origin_end + i);
    format!("{}/{location}", &base[..dir_end])
}

/// A body on disk, not yet installed.
#[cfg_attr(not(feature = "update"), allow(dead_code))]
struct Download {
    file: crate::output::AtomicFile,
    sha256: String,
    bytes: u64,
}

/// Streams the body of `url` into a temporary file beside `dest`, hashing as it goes; more than
/// [`MAX_BYTES`] (announced or sent) is refused without holding the body in memory.
#[cfg(feature = "update")]
fn fetch(url: &str, dest: &Path) -> Result<Download, UpdateError> {
    use std::io::{Read, Write};
    let err = download_error(url);
    let resp = get(url)?;
    let expected: Option<u64> = resp.header("content-length").and_then(|v| v.parse().ok());
    let too_large = || err(format!("body larger than {MAX_BYTES} bytes"));
    if expected.is_some_and(|n| n > MAX_BYTES) {
        return Err(too_large());
    }
    let io = |source| UpdateError::Io {
        path: dest.to_path_buf(),
        source,
    };
    let mut file = crate::output::AtomicFile::create(dest).map_err(io)?;
    let mut reader = resp.into_reader().take(MAX_BYTES + 1);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(format!("reading the body: {e}"))),
        };
        total += n as u64;
        if total > MAX_BYTES {
            return Err(too_large());
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(io)?;
    }
    if let Some(n) = expected {
        if n != total {
            return Err(err(format!("truncated body: {total} of {n} bytes")));
        }
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Download {
        file,
        sha256,
        bytes: total,
    })
}

/// Without the `update` feature there is no HTTP client: every download is refused.
#[cfg(not(feature = "update"))]
fn fetch(_url: &str, _dest: &Path) -> Result<Download, UpdateError> {
    Err(UpdateError::NotBuilt)
}

/// Downloads `url`, checks it is a bundle of `domain` (`enterprise-attack`), and installs it in
/// `dir` with its metadata. Returns the metadata of the installed bundle. The body goes straight
/// to a temporary file in `dir`, renamed over the cache only once it loaded as ATT&CK data.
pub fn update(url: &str, domain: &str, dir: &Path) -> Result<CacheMeta, UpdateError> {
    std::fs::create_dir_all(dir).map_err(|source| UpdateError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let download = fetch(url, &bundle_path(dir, domain))?;
    install(url, domain, dir, download)
}

/// Checks a downloaded body and installs it with its metadata: the release recorded is the one
/// the bundle's collection object names (`x_mitre_version`), read by the STIX loader.
#[cfg_attr(not(feature = "update"), allow(dead_code))]
fn install(
    url: &str,
    domain: &str,
    dir: &Path,
    download: Download,
) -> Result<CacheMeta, UpdateError> {
    let io = |path: &Path, source: std::io::Error| UpdateError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bundle = bundle_path(dir, domain);
    let invalid = |message: String| UpdateError::Invalid {
        url: url.to_string(),
        message,
    };
    let kb = load_path(download.file.temp_path(), &LoadOptions::default()).map_err(|source| {
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
        sha256: download.sha256,
        bytes: download.bytes,
    };
    drop(kb);
    download.file.commit().map_err(|e| io(&bundle, e))?;
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

    /// Without the `update` feature (`cargo test --no-default-features`): refused, nothing written.
    #[cfg(not(feature = "update"))]
    #[test]
    fn without_the_feature_update_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = update(
            "https://example.org/x.json",
            "enterprise-attack",
            dir.path(),
        )
        .unwrap_err();
        assert!(matches!(e, UpdateError::NotBuilt), "{e}");
        assert!(e.to_string().contains("`update` cargo feature"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// The release recorded beside the bundle comes from the bundle itself, and `cached` reads
    /// it back; no network: the "download" is a fixture copied into the cache's temporary file.
    #[test]
    fn install_records_the_bundle_release() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let body = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/versions/v19-mini.json"),
        )
        .unwrap();
        let dest = bundle_path(dir.path(), "enterprise-attack");
        let mut file = crate::output::AtomicFile::create(&dest).unwrap();
        file.write_all(&body).unwrap();
        let download = Download {
            file,
            sha256: sha256_hex(&body),
            bytes: body.len() as u64,
        };
        let meta = install(
            "https://example.org/e.json",
            "enterprise-attack",
            dir.path(),
            download,
        )
        .unwrap();
        assert_eq!(
            (meta.version.as_str(), meta.bytes),
            ("19.0", body.len() as u64)
        );
        let (path, read) = cached(dir.path(), "enterprise-attack").unwrap();
        assert_eq!((path, read), (dest, meta));
        assert!(cached(dir.path(), "ics-attack").is_none());
    }

    #[test]
    fn redirect_locations_resolve() {
        let base = "http://h:1/a/b.json?x=1";
        assert_eq!(resolve_location(base, "https://o/x"), "https://o/x");
        assert_eq!(
            resolve_location(base, "file:///etc/passwd"),
            "file:///etc/passwd"
        );
        assert_eq!(resolve_location(base, "//o/x"), "http://o/x");
        assert_eq!(resolve_location(base, "/c.json"), "http://h:1/c.json");
        assert_eq!(resolve_location(base, "c.json"), "http://h:1/a/c.json");
        assert_eq!(resolve_location("http://h", "c.json"), "http://h/c.json");
        assert!(has_http_scheme("HTTPS://x") && !has_http_scheme("file:///x"));
        assert!(!has_http_scheme("ftp://x") && !has_http_scheme("x"));
    }
}
