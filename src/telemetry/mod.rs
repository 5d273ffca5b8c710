//! Telemetry map: ATT&CK log-source references, Sigma logsources and event IDs, read from `mappings/`.
