//! Issue #15: IDs and codes that are wrong in a known way get a useful message. A mobile or ICS
//! technique on enterprise data names its domain; `explain` suggests the closest code;
//! `--attack cache:DOMAIN` works in every command that reads ATT&CK data.

use crate::common::{command, root, run, scratch, shared};

#[test]
fn a_mobile_or_ics_id_on_enterprise_data_names_its_domain() {
    let m = run(&["technique", "T1398"]);
    assert_eq!(m.code, 2);
    assert_eq!(
        m.stderr,
        "error: technique T1398: not in the loaded enterprise-attack data; T1398 is a mobile-attack technique (Boot or Logon Initialization Scripts, ATT&CK 18.1); load that domain's data, e.g. `--attack cache:mobile`\n"
    );
    let i = run(&["technique", "attack.t0807"]);
    assert!(
        i.stderr
            .contains("T0807 is an ics-attack technique (Command-Line Interface"),
        "{}",
        i.stderr
    );
    // In a rule, the attacktag finding says the same.
    let c = run(&["--no-config", "check", "tests/fixtures/versions/mobile-ics"]);
    assert!(
        c.stdout.contains("is a mobile-attack technique"),
        "{}",
        c.stdout
    );
    // A plain unknown ID keeps its "did you mean".
    assert!(run(&["technique", "T1999"])
        .stderr
        .contains("unknown technique"));
}

#[test]
fn explain_suggests_the_closest_code() {
    let r = run(&["explain", "attak_tag"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: unknown code `attak_tag`; did you mean `attacktag`? `attacktrace explain` lists them\n"
    );
    let far = run(&["explain", "completely_unrelated_words"]);
    assert!(!far.stderr.contains("did you mean"));
}

#[test]
fn attack_cache_domain_works_in_every_command() {
    let Some(shared) = shared() else { return };
    let bundle = shared.join("attack/mobile-attack-18.1.json");
    if !bundle.is_file() {
        return;
    }
    let tmp = scratch();
    let cache = tmp.path().join("attacktrace");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::copy(&bundle, cache.join("mobile-attack.json")).unwrap();
    std::fs::write(
        cache.join("mobile-attack.meta.json"),
        r#"{"domain":"mobile-attack","version":"18.1","url":"file","sha256":"0123456789abcdef","bytes":1}"#,
    )
    .unwrap();
    let rules = "tests/fixtures/versions/mobile-ics";
    for (args, code) in [
        (vec!["attack", "info"], 0),
        (vec!["technique", "T1398"], 0),
        (vec!["rules", rules], 0),
        (vec!["coverage", rules, "--format", "json"], 0),
        (vec!["check", rules, "--format", "json"], 1),
        (
            vec!["migrate", "--to", "cache:mobile", "--dry-run", rules],
            1,
        ),
        (vec!["attack", "diff", "cache:mobile", "cache:mobile"], 0),
    ] {
        let out = command(&root())
            .args(["-q", "--no-config", "--attack", "cache:mobile"])
            .args(&args)
            .env("XDG_CACHE_HOME", tmp.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] != "migrate" && args[0] != "rules" {
            assert!(stdout.contains("mobile"), "{args:?}: {stdout}");
        }
    }
}
