//! The technique card shows the facts read from ATT&CK's free-text channels when only the embedded
//! catalog is loaded, in every format, and still says that the prose itself is not there.

use crate::common::run;

const FILE_CREATION: &str =
    "syscalls: creat, open, write; paths: /etc/systemd/system, /usr/lib/systemd/system";
const PROCESS_CREATION: &str = "syscalls: execve; paths: /usr/bin/systemctl; processes: systemctl";

#[test]
fn embedded_card_prints_channel_facts() {
    let r = run(&["technique", "T1053.006"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!(
        "File Creation (DC0039): auditd:SYSCALL | {FILE_CREATION}\n"
    )));
    assert!(r.stdout.contains(&format!(
        "Process Creation (DC0032): auditd:SYSCALL | {PROCESS_CREATION}\n"
    )));
    assert!(!r.stdout.contains("(free-text channel)"));
    assert!(r.stdout.contains("not in the compiled"));

    let md = run(&["technique", "T1053.006", "--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(md
        .stdout
        .contains(&format!("| auditd:SYSCALL | {FILE_CREATION} |")));

    let j = run(&["technique", "T1053.006", "--format", "json"]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let ls = &v["detection"]["strategies"][0]["analytics"][0]["log_sources"][0];
    assert_eq!(ls["name"], "auditd:SYSCALL");
    assert!(ls.get("channel_text").is_none());
    assert_eq!(
        ls["facts"][0],
        serde_json::json!({"kind": "syscall", "value": "creat"})
    );
    assert_eq!(
        ls["facts"][3],
        serde_json::json!({"kind": "path", "value": "/etc/systemd/system"})
    );
}
