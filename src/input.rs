//! Bytes from the outside: the one way the tool reads a whole file it was pointed at.
//!
//! Every such file may be hostile (a pull request's config, a profile, a bundle, a symlink planted
//! in a rule repository), so a read here is size-capped, only ever reads a regular file (a FIFO
//! would hang the run, `/dev/zero` would grow memory without end), and its errors never carry the
//! file's content. Like `output`, this module imports nothing from the crate.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Default cap for configuration-like files (repository config, profiles, baselines, saved
/// results): far above any real one.
pub const DEFAULT_CAP: u64 = 16 * 1024 * 1024;

/// Cap for an ATT&CK STIX bundle (the enterprise bundle is about 50 MB today).
pub const BUNDLE_CAP: u64 = 512 * 1024 * 1024;

/// Why a file could not be read. Never holds any of the file's bytes.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{} is not a regular file ({kind})", .path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{} is larger than the limit of {limit} bytes", .path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{} is not valid UTF-8 text", .path.display())]
    NotUtf8 { path: PathBuf },
    #[error("cannot read {}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Opens `path` for reading only if it is a regular file, without blocking on a FIFO: the file is
/// opened non-blocking and its type is taken from the open handle, so a swap between the check and
/// the read cannot slip a device or pipe in.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = open_nonblocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: file_kind(&meta),
        });
    }
    Ok((file, meta))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// A short name for a non-regular file type, for messages.
pub fn file_kind(meta: &Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else if meta.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Reads a whole regular file of at most `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let (file, meta) = open_regular(path)?;
    let too_large = || ReadError::TooLarge {
        path: path.to_path_buf(),
        limit: cap,
    };
    if meta.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow after the stat: the read itself is capped too.
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_capped`] for UTF-8 text; a leading byte-order mark is kept (callers that parse YAML or
/// JSON decide what it means).
pub fn read_text_capped(path: &Path, cap: u64) -> Result<String, ReadError> {
    String::from_utf8(read_capped(path, cap)?).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// Whether `path`, with every symbolic link resolved, lies inside `root` (also resolved). A path
/// that cannot be resolved (missing, a dangling or looping link) is not inside.
pub fn is_within(root: &Path, path: &Path) -> bool {
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(r), Ok(p)) => p.starts_with(r),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_file_and_caps_a_large_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yml");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_capped(&p, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_capped(&p, 9),
            Err(ReadError::TooLarge { limit: 9, .. })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn refuses_devices_and_directories_without_reading() {
        let e = read_capped(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::NotRegular {
                    kind: "a device",
                    ..
                }
            ),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_capped(dir.path(), 10),
            Err(ReadError::NotRegular { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("info.yml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_capped(&fifo, 10).unwrap_err();
        assert!(
            matches!(e, ReadError::NotRegular { kind: "a FIFO", .. }),
            "{e}"
        );
    }

    #[test]
    fn errors_never_carry_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        std::fs::write(&p, b"\xffSECRET-KEY-MATERIAL").unwrap();
        let e = read_text_capped(&p, 100).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn within_resolves_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(dir.path().join("outside"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
        std::fs::write(root.join("inside"), b"x").unwrap();
        assert!(is_within(&root, &root.join("inside")));
        assert!(!is_within(&root, &root.join("link")));
        assert!(!is_within(&root, &root.join("missing")));
    }
}
