//! YAML scenarios: the model users write, loading with positions in errors, templating, JSON
//! paths, assertions, and the runner.

pub mod assert;
pub mod bundled;
pub mod load;
pub mod model;
pub mod outcome;
pub mod path;
pub mod run;
pub mod stream;
pub mod template;
