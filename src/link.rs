//! Link index: technique <-> rules (direct and via sub-technique).
