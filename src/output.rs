//! Bytes to the outside: stdout (a closed pipe is fine), stderr, atomic file writes and
//! terminal-safe text. The bottom layer: it imports nothing from the crate, so any module may use it
//! without pulling in a renderer.

use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to stdout. A closed pipe (`attacktrace ... | head`) is not an error.
pub fn to_stdout(bytes: &[u8]) -> io::Result<()> {
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(bytes).and_then(|_| lock.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one message line to stderr (notices, warnings, errors), neutralising control characters.
pub fn to_stderr(line: &str) {
    let stderr = io::stderr();
    let mut lock = stderr.lock();
    let _ = writeln!(lock, "{}", document_safe(line));
}

/// Runs `f`; when `enabled`, stderr is a terminal and `f` takes over a second, shows the elapsed
/// time on stderr (erased afterwards). Silent in pipes and CI logs.
pub fn with_progress<T>(enabled: bool, label: &str, f: impl FnOnce() -> T) -> T {
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    if !enabled || !io::stderr().is_terminal() {
        return f();
    }
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let label = label.to_string();
    let ticker = std::thread::spawn(move || {
        let start = Instant::now();
        let mut shown = false;
        while !flag.load(Ordering::Relaxed) {
            std::thread::park_timeout(Duration::from_millis(100));
            let t = start.elapsed();
            if t > Duration::from_secs(1) && !flag.load(Ordering::Relaxed) {
                let _ = write!(io::stderr(), "\r{label}... {:.1}s", t.as_secs_f64());
                shown = true;
            }
        }
        if shown {
            let _ = write!(io::stderr(), "\r\x1b[K");
        }
    });
    let out = f();
    done.store(true, Ordering::Relaxed);
    // Wake the ticker so a fast load is not held up by its sleep.
    ticker.thread().unpark();
    let _ = ticker.join();
    out
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename, so
/// a reader never sees a half-written file and a killed run leaves the previous one intact.
///
/// The files written may sit in a checkout an attacker controls, so the temporary name is
/// unpredictable and created exclusively (a planted symlink there is never followed), and an
/// existing `path` must be a regular file: a symlink or a device (`/dev/null` as root) is refused
/// rather than replaced. An existing file keeps its permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// [`write_atomic`] for content that arrives in pieces (a download): write to it, then
/// [`AtomicFile::commit`]. Dropped without a commit, it removes its temporary file and `path` is
/// left as it was.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file beside `path`, with `path`'s permissions when it exists; refuses
    /// a `path` that is a symlink or not a regular file (see [`write_atomic`]).
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let existing = match fs::symlink_metadata(path) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if let Some(meta) = &existing {
            if meta.file_type().is_symlink() {
                return Err(refused("is a symbolic link; not writing through it"));
            }
            if !meta.is_file() {
                return Err(refused(
                    "exists and is not a regular file; not replacing it",
                ));
            }
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".tmp");
        // A new file gets what `File::create` gives (0666 less the umask), not tempfile's 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(&dir).map_err(without_temp_name)?;
        if let Some(meta) = &existing {
            tmp.as_file().set_permissions(meta.permissions())?;
        }
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Where the bytes are until the commit (to check them before they replace `path`).
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// Flushes to disk and renames the temporary file over `path`.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
        // On failure the temporary file is removed when the returned error drops it.
        self.tmp
            .persist(&self.path)
            .map_err(|e| without_temp_name(e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.as_file_mut().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.as_file_mut().flush()
    }
}

/// tempfile appends ` at path "DIR/.tmpXXXXXX"` to its errors: a random name makes output
/// non-deterministic and says nothing the caller's context does not, so it is cut (tempfile keeps
/// no inner error to unwrap).
fn without_temp_name(e: io::Error) -> io::Error {
    if e.get_ref().is_none() {
        return e;
    }
    let msg = e.to_string();
    match msg.rfind(" at path \"") {
        Some(i) => io::Error::new(e.kind(), &msg[..i]),
        None => e,
    }
}

fn refused(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.to_string())
}

/// Whether `c` must not reach a terminal or CI log raw: control characters (C0 but newline and
/// tab, DEL, C1) and the Unicode bidi embeddings, overrides and isolates, which reorder what a
/// reviewer sees ("Trojan Source").
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Neutralises control characters (ANSI escapes, carriage returns, bidi controls, ...) in untrusted
/// text for a terminal: each becomes a visible `\u{..}` escape. Newlines and tabs are kept.
pub fn term_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Same as [`term_safe`] and also folds newlines: for one-line fields such as titles.
pub fn one_line(s: &str) -> String {
    term_safe(s).replace(['\n', '\r'], " ")
}

/// A path as one terminal-safe line: a file name may hold newlines or escapes too.
pub fn path_line(p: &std::path::Path) -> String {
    one_line(&p.to_string_lossy())
}

/// Whether `line` would be read as a GitHub Actions workflow command (`::name ...::`): the runner
/// trims leading whitespace before looking for `::`.
pub fn is_command_line(line: &str) -> bool {
    line.trim_start().starts_with("::")
}

/// Defuses every line that a CI runner would take for a workflow command: its first `:` becomes a
/// visible `\u{3a}`. The rest of the text is kept as is.
pub fn defuse_commands(s: &str) -> Cow<'_, str> {
    if !s.lines().any(is_command_line) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for line in s.split_inclusive('\n') {
        if is_command_line(line) {
            let at = line.len() - line.trim_start().len();
            out.push_str(&line[..at]);
            out.push_str("\\u{3a}");
            out.push_str(&line[at + 1..]);
        } else {
            out.push_str(line);
        }
    }
    Cow::Owned(out)
}

/// The last pass over every report and message before it leaves the process (stdout, stderr,
/// `-o` files), whatever the format: control and bidi characters a renderer let through become
/// visible escapes and no line can pose as a workflow command. Formats escape their fields first
/// (JSON as `\uXXXX`, XML, CSV, HTML); this is the net under them. GitHub annotations, whose lines
/// are commands by design, use [`annotation_safe`] instead.
pub fn document_safe(s: &str) -> Cow<'_, str> {
    match term_safe(s) {
        Cow::Borrowed(b) => defuse_commands(b),
        Cow::Owned(o) => Cow::Owned(defuse_commands(&o).into_owned()),
    }
}

/// The last pass over GitHub workflow-command output: control and bidi characters become visible
/// escapes; lines are left to the renderer, which escapes newlines inside every field.
pub fn annotation_safe(s: &str) -> Cow<'_, str> {
    term_safe(s)
}

/// Escapes the characters [`term_safe`] neutralises as JSON `\uXXXX` escapes, for serialised
/// JSON: serde escapes C0 controls only, and C1, DEL and bidi characters can only occur inside
/// strings there, so the document keeps its meaning while no raw one reaches a log.
pub fn json_safe(s: String) -> String {
    if !s.chars().any(unsafe_char) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_safe_neutralises_escapes() {
        assert_eq!(term_safe("plain"), "plain");
        assert_eq!(term_safe("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(one_line("a\nb\r"), "a b\\u{d}");
    }

    #[test]
    fn term_safe_neutralises_bidi_and_c1() {
        assert_eq!(term_safe("a\u{202e}b\u{2066}c"), "a\\u{202e}b\\u{2066}c");
        assert_eq!(term_safe("\u{202a}\u{2069}"), "\\u{202a}\\u{2069}");
        assert_eq!(term_safe("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(one_line("t\u{85}\u{202d}"), "t\\u{85}\\u{202d}");
        // Ordinary non-ASCII text is untouched.
        assert_eq!(term_safe("é ü \u{200b}"), "é ü \u{200b}");
    }

    #[test]
    fn documents_never_pose_as_workflow_commands() {
        assert_eq!(
            document_safe("a\n::warning::x\n  ::error::y"),
            "a\n\\u{3a}:warning::x\n  \\u{3a}:error::y"
        );
        assert_eq!(document_safe("ok: a::b\n"), "ok: a::b\n");
        assert_eq!(document_safe("\u{1b}[2J\u{202e}"), "\\u{1b}[2J\\u{202e}");
        assert_eq!(annotation_safe("::error ::m\u{7}"), "::error ::m\\u{7}");
        assert_eq!(
            json_safe("\"a\u{85}\u{202e}\"".into()),
            "\"a\\u0085\\u202e\""
        );
        assert_eq!(
            path_line(Path::new("x\n::stop-commands::t\n.yml")),
            "x ::stop-commands::t .yml"
        );
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_write_handles_long_names() {
        let dir = tempfile::tempdir().unwrap();
        for len in [244, 250, 255] {
            let p = dir.path().join("a".repeat(len - 4) + ".yml");
            write_atomic(&p, b"x").unwrap();
            assert_eq!(fs::read(&p).unwrap(), b"x");
        }
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_ignores_planted_temp_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"secret").unwrap();
        let target = dir.path().join("out.yml");
        // The old predictable names, planted.
        let pid = std::process::id();
        for name in [format!(".out.yml.{pid}.tmp"), ".tmp".to_string()] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        write_atomic(&target, b"report").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"secret");
        assert_eq!(fs::read(&target).unwrap(), b"report");
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_refuses_symlink_and_device_targets() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"secret").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = write_atomic(&link, b"x").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(fs::read(&victim).unwrap(), b"secret");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());

        let err = write_atomic(Path::new("/dev/null"), b"x").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = write_atomic(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = write_atomic(&dir.path().join("no/such/dir/out.json"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!err.to_string().contains(".tmp"), "{err}");
        // Nothing left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rule.yml");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"new").unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
