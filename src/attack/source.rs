//! Which ATT&CK data a run uses. Precedence: `--attack` / `ATTACKTRACE_ATTACK`, then the
//! repository config's `attack:` key, then the cache of `attack update`, then the embedded catalog.
//! Commands that compare releases name theirs with a spec (`embedded`, `cache[:domain]`, a file).

use super::model::KnowledgeBase;
use super::{catalog, update};
use super::{load_path, AttackError, LoadOptions};
use crate::config::{self, ConfigError};
use std::path::{Path, PathBuf};

/// Why the requested ATT&CK data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Load(#[from] AttackError),
    #[error(transparent)]
    Config(#[from] ConfigError),
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

/// The active ATT&CK data: `flag` is `--attack` (or its environment variable).
pub fn active(flag: Option<&Path>, attack_version: Option<&str>) -> Result<Active, SourceError> {
    let opts = LoadOptions {
        attack_version: attack_version.map(str::to_string),
    };
    let mut notices = Vec::new();
    if let Some(path) = flag {
        let kb = load_path(path, &opts)?;
        if kb.source.version_from == crate::attack::VersionFrom::FileName {
            notices.push(format!(
                "ATT&CK version {} taken from the file name (the bundle does not state it; use --attack-version to set it)",
                kb.source.version
            ));
        }
        return Ok(Active { kb, notices });
    }
    if let Some(path) = configured()? {
        let kb = load_path(&path, &opts)?;
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

/// The `attack:` key of the `.attacktrace.yml` found from the working directory, if any.
pub fn configured() -> Result<Option<PathBuf>, ConfigError> {
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(None);
    };
    match config::discover(&cwd) {
        Some(file) => Ok(config::Settings::load(&file)?.attack),
        None => Ok(None),
    }
}

/// ATT&CK data named on the command line: a file, `embedded`, `cache` or `cache:<domain>`.
pub fn from_spec(spec: &str) -> Result<KnowledgeBase, SourceError> {
    if spec == "embedded" {
        return Ok(catalog::embedded());
    }
    if let Some(rest) = spec.strip_prefix("cache") {
        if rest.is_empty() || rest.starts_with(':') {
            let domain = update::domain_name(rest.strip_prefix(':').unwrap_or("enterprise"))?;
            let dir = update::cache_dir().ok_or(update::UpdateError::NoCacheDir)?;
            return match update::load_cached(&dir, &domain, &Default::default()) {
                Some(kb) => Ok(kb?),
                None => Err(SourceError::NotCached { domain, dir }),
            };
        }
    }
    Ok(load_path(Path::new(spec), &Default::default())?)
}
