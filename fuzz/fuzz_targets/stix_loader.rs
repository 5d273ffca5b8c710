//! The STIX bundle / catalog loader on arbitrary bytes: bad JSON, wrong types, dangling references.
#![no_main]

use attacktrace::attack::stix::{load_bundle, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kb) = load_bundle(data, "fuzz.json", &LoadOptions::default()) {
        // A loaded knowledge base must survive the lookups every command does.
        for t in &kb.techniques {
            let _ = kb.resolve_revoked(&t.id);
            let _ = kb.analytics_of(t);
        }
    }
});
