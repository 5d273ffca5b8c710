//! JSON renderer: the report models serialised as they are (their field names are the documented
//! schema), pretty-printed, ending in a newline.

use serde::Serialize;

pub fn to_string<T: Serialize>(value: &T) -> String {
    // Serialising plain data structs with string keys cannot fail.
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("internal serialisation error: {e}") }).to_string()
    });
    s.push('\n');
    // C1, DEL and bidi characters as `\uXXXX`: the same value, but nothing raw reaches a log.
    crate::output::json_safe(s)
}
