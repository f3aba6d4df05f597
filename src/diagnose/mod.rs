//! Diagnostics: IBKR's errors explained, credential sets checked offline and online, a user's own
//! client values matched against known mistakes, and the activation watch.

pub mod activation;
pub mod catalogue;
pub mod checks;
pub mod compare;
pub mod explain;
