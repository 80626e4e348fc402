//! Intel TDX: quote v4 parsing and verification.

pub mod quote;
pub mod verify;

pub use verify::verify;
