//! `attack update` against a local HTTP server on 127.0.0.1 (no outside network): a good download
//! is cached with version and SHA-256 and then used by default; a server error, a truncated body
//! and a non-ATT&CK body fail with exit 2 and leave the previous cache byte for byte intact.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::common::{command, root, scratch, Run};

/// Serves one canned response per connection, `count` times, on a free port; returns the URL.
fn serve(response: Vec<u8>, count: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&response);
        }
    });
    format!("http://{addr}/enterprise-attack.json")
}

fn ok_response(body: &[u8], claimed_len: usize) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {claimed_len}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// The binary with `cache` as its cache home (overriding the harness's empty one).
fn run(cache: &Path, args: &[&str]) -> Run {
    let out = command(&root())
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn update_caches_and_failures_keep_the_previous_cache() {
    let tmp = scratch();
    let cache = tmp.path().to_path_buf();
    let body = std::fs::read(root().join("tests/fixtures/versions/v19-mini.json")).unwrap();

    // Before any update: the embedded catalog.
    let info = run(&cache, &["attack", "info"]);
    assert!(
        info.stdout.starts_with("source:               embedded"),
        "{}",
        info.stdout
    );

    let url = serve(ok_response(&body, body.len()), 1);
    let r = run(&cache, &["attack", "update", "--url", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sha = attacktrace::attack::update::sha256_hex(&body);
    assert!(
        r.stdout.starts_with("downloaded enterprise-attack v19.0 ("),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&sha));
    let dir = cache.join("attacktrace");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("enterprise-attack.meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["version"], "19.0");
    assert_eq!(meta["sha256"], sha.as_str());
    assert_eq!(meta["url"], url.as_str());
    assert_eq!(
        std::fs::read(dir.join("enterprise-attack.json")).unwrap(),
        body
    );

    // From now on the cache is the default source, shown in `attack info` and on the card.
    let info = run(&cache, &["attack", "info"]);
    assert!(
        info.stdout.starts_with("source:               cache "),
        "{}",
        info.stdout
    );
    assert!(info.stdout.contains("version:              19.0"));
    let card = run(&cache, &["technique", "T1685.001"]);
    assert_eq!(card.code, 0, "{}", card.stderr);
    assert!(card.stdout.contains("19.0"), "{}", card.stdout);
    let version = run(&cache, &["--version"]);
    assert!(
        version.stdout.ends_with("; cached: enterprise 19.0)\n"),
        "{}",
        version.stdout
    );
    // --attack and ATTACKTRACE_ATTACK still win over the cache.
    let v18 = root().join("tests/fixtures/versions/v18-mini.json");
    let info = run(
        &cache,
        &["--attack", v18.to_str().unwrap(), "attack", "info"],
    );
    assert!(info.stdout.contains("version:              18.1"));
    let out = command(&root())
        .args(["attack", "info"])
        .env("XDG_CACHE_HOME", &cache)
        .env("ATTACKTRACE_ATTACK", &v18)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("version:              18.1"));
    // `cache` names it in diff/migrate.
    let d = run(&cache, &["attack", "diff", v18.to_str().unwrap(), "cache"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert!(d.stdout.contains("techniques revoked                 3"));

    let good = snapshot(&dir);
    let failures = [
        (
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            "HTTP 503",
        ),
        (
            ok_response(&body[..body.len() / 2], body.len()),
            "download of",
        ),
        (
            ok_response(b"{\"hello\": 1}", 12),
            "did not return usable ATT&CK data",
        ),
    ];
    for (response, expect) in failures {
        let url = serve(response, 1);
        let r = run(&cache, &["attack", "update", "--url", &url]);
        assert_eq!(r.code, 2, "{expect}: {}", r.stdout);
        assert!(r.stderr.contains(expect), "{expect}: {}", r.stderr);
        assert!(r.stderr.contains("previous cache"), "{}", r.stderr);
        assert_eq!(snapshot(&dir), good, "cache changed after: {expect}");
    }
    // Nothing listens here: connection refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = run(
        &cache,
        &[
            "attack",
            "update",
            "--url",
            &format!("http://127.0.0.1:{port}/x.json"),
        ],
    );
    assert_eq!(r.code, 2);
    assert_eq!(snapshot(&dir), good);
    // A domain mismatch is refused too.
    let url = serve(ok_response(&body, body.len()), 1);
    let r = run(
        &cache,
        &["attack", "update", "--url", &url, "--domain", "ics"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not `ics-attack`"), "{}", r.stderr);
    assert!(!dir.join("ics-attack.json").exists());
}

/// Serves a response whose body is streamed in 1 MiB pieces, `mib` of them, with no
/// Content-Length: the size is only known by reading it.
fn serve_streamed(mib: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Some(Ok(mut s)) = listener.incoming().next() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let chunk = vec![b' '; 1 << 20];
            for _ in 0..mib {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    });
    format!("http://{addr}/big.json")
}

fn redirect_to(location: &str) -> Vec<u8> {
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

/// Redirects are followed by the tool itself: http(s) ones (absolute or relative) up to a limit,
/// any other scheme refused with exit 2 (ureq used to panic on `file://`). An oversize body is
/// refused while streaming, announced or not; the previous cache stays byte for byte.
#[test]
fn update_redirects_and_oversize_bodies() {
    let tmp = scratch();
    let cache = tmp.path().to_path_buf();
    let body = std::fs::read(root().join("tests/fixtures/versions/v19-mini.json")).unwrap();
    let target = serve(ok_response(&body, body.len()), 1);
    let url = serve(redirect_to(&target), 1);
    let r = run(&cache, &["attack", "update", "--url", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = cache.join("attacktrace");
    assert_eq!(
        std::fs::read(dir.join("enterprise-attack.json")).unwrap(),
        body
    );
    let good = snapshot(&dir);

    for location in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.json",
        "FILE:/etc/passwd",
    ] {
        let url = serve(redirect_to(location), 1);
        let r = run(&cache, &["attack", "update", "--url", &url]);
        assert_eq!(r.code, 2, "{location}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("refused: only http and https are followed"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panic") && !r.stderr.contains("root:"));
        assert_eq!(snapshot(&dir), good);
    }
    // A redirect loop ends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(10) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&redirect_to("/again.json"));
        }
    });
    let r = run(
        &cache,
        &[
            "attack",
            "update",
            "--url",
            &format!("http://{addr}/x.json"),
        ],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("more than 5 redirects"), "{}", r.stderr);

    // Oversize: announced (refused before reading) and streamed without a length.
    let claimed =
        b"HTTP/1.1 200 OK\r\nContent-Length: 600000000\r\nConnection: close\r\n\r\n{".to_vec();
    for url in [serve(claimed, 1), serve_streamed(513)] {
        let r = run(&cache, &["attack", "update", "--url", &url]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("body larger than 536870912 bytes"),
            "{}",
            r.stderr
        );
        assert_eq!(snapshot(&dir), good, "no temporary file is left behind");
    }
}
