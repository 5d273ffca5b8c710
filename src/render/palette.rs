//! The coverage colours every visual format shares (Navigator layer, HTML report), chosen to read
//! without colour vision too: covered techniques on a viridis-like sequential scale (light to
//! dark, ordered by luminance), gaps in Okabe-Ito vermillion, which is on no step of that scale,
//! and guidance in neutral grey. A covered technique can never take the gap colour.

/// A technique no in-scope rule covers.
pub const GAP: &str = "#d55e00";
/// "No portable rule" (guidance): neither covered nor a gap.
pub const GUIDANCE: &str = "#d9d9d9";
/// Covered, from the least (first) to the most (last): viridis stops, lightest first.
pub const SCALE: [&str; 4] = ["#fde725", "#7ad151", "#22a884", "#2a788e"];
/// Text colour that stays readable on each [`SCALE`] step.
pub const SCALE_TEXT: [&str; 4] = ["#1d1d1f", "#1d1d1f", "#ffffff", "#ffffff"];
/// Text colour on [`GAP`].
pub const GAP_TEXT: &str = "#ffffff";
