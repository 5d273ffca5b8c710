//! Which ATT&CK data a run uses. Precedence: `--attack` / `ATTACKTRACE_ATTACK`, then the `attack:`
//! key of the config in use (`--config`, else the repository's), then the cache of `attack update`,
//! then the embedded catalog. `--attack` and the commands that compare releases take a spec:
//! `embedded`, `cache[:domain]` or a file.

use super::model::KnowledgeBase;
use super::{catalog, update};
use super::{load_path, AttackError, LoadOptions};
use std::path::{Path, PathBuf};

/// Why the requested ATT&CK data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Load(#[from] AttackError),
    #[error(transparent)]
    Update(#[from] update::UpdateError),
    #[error("no cached {domain} bundle in {}; run `attacktrace attack update`", dir.display())]
    NotCached { domain: String, dir: PathBuf },
}

/// The data a run uses, and the notices the choice deserves (shown unless `--quiet`).
#[derive(Debug)]
pub struct Active {
    pub kb: KnowledgeBase,
    pub notices: Vec<String>,
}

/// The active ATT&CK data: `flag` is `--attack` (or its environment variable), a spec as in
/// [`from_spec`]; `configured` is the `attack:` key of the config in use (already resolved against
/// its directory), read by the caller so that a pinned `--config` or `--no-config` decides it.
pub fn active(
    flag: Option<&Path>,
    attack_version: Option<&str>,
    configured: Option<&Path>,
) -> Result<Active, SourceError> {
    let opts = LoadOptions {
        attack_version: attack_version.map(str::to_string),
    };
    let mut notices = Vec::new();
    if let Some(spec) = flag {
        let kb = spec_with(spec, &opts)?;
        if kb.source.version_from == crate::attack::VersionFrom::FileName {
            notices.push(format!(
                "ATT&CK version {} taken from the file name (the bundle does not state it; use --attack-version to set it)",
                kb.source.version
            ));
        }
        return Ok(Active { kb, notices });
    }
    if let Some(path) = configured {
        let kb = load_path(path, &opts)?;
        return Ok(Active { kb, notices });
    }
    // A broken cache is not fatal.
    let dir = update::cache_dir();
    let cached = dir
        .as_deref()
        .and_then(|d| update::load_cached(d, "enterprise-attack", &Default::default()));
    let kb = match cached {
        Some(Ok(kb)) => kb,
        Some(Err(e)) => {
            notices.push(format!("ignoring the ATT&CK cache ({e}); using the embedded catalog; run `attacktrace attack update` to repair it"));
            catalog::embedded()
        }
        None => catalog::embedded(),
    };
    Ok(Active { kb, notices })
}

/// ATT&CK data named on the command line: a file, `embedded`, `cache` or `cache:<domain>`.
pub fn from_spec(spec: &str) -> Result<KnowledgeBase, SourceError> {
    spec_with(Path::new(spec), &Default::default())
}

fn spec_with(path: &Path, opts: &LoadOptions) -> Result<KnowledgeBase, SourceError> {
    let spec = path.to_str().unwrap_or_default();
    if spec == "embedded" {
        return Ok(catalog::embedded());
    }
    if let Some(rest) = spec.strip_prefix("cache") {
        if rest.is_empty() || rest.starts_with(':') {
            let domain = update::domain_name(rest.strip_prefix(':').unwrap_or("enterprise"))?;
            let dir = update::cache_dir().ok_or(update::UpdateError::NoCacheDir)?;
            return match update::load_cached(&dir, &domain, opts) {
                Some(kb) => Ok(kb?),
                None => Err(SourceError::NotCached { domain, dir }),
            };
        }
    }
    Ok(load_path(path, opts)?)
}
