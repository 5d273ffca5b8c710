//! Technique card report model.
