//! The market-data field catalogue, value parsing, and checks of mappings and snapshot values.

pub mod catalogue;
pub mod check;
pub mod parse;

pub use catalogue::{FIELDS, Field, Meaning, ValueKind, by_id};
