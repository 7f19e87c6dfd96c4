//! Who is calling and what they may do: caller identities (from a client
//! certificate or a bearer token), the policy that maps them to methods and
//! refund ceilings, and the tower layer that enforces it before any handler.

mod ceiling;
mod identity;

pub use ceiling::RefundCeiling;
pub use identity::{Caller, Identity, InvalidIdentity, Proof};
