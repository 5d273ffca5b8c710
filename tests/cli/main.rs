//! End-to-end runs of the binary, one module per command or concern (one test binary, so the
//! crate is linked once).

#[path = "../common/mod.rs"]
mod common;

mod attack_classes;
mod card_facts;
mod card_list;
mod changed_files;
mod check;
mod colour;
mod correlation;
mod coverage;
mod domains;
mod evidence;
mod guidance;
mod help;
mod hostile;
mod hostile_fix;
mod hostile_gate;
mod injection;
mod install;
mod integrate;
mod readme;
mod robustness;
mod rule_pack;
mod rule_paths;
mod skew;
mod suggest;
mod technique;
mod update;
mod versions;
