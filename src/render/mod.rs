//! Output layer: one module per format. Nothing outside this module prints.
