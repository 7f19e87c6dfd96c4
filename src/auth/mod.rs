//! Who is calling and what they may do: caller identities (from a client
//! certificate or a bearer token), the policy that maps them to methods and
//! refund ceilings, and the tower layer that enforces it before any handler.
//!
//! - [`identity`](Identity): the contract types the listener, this layer and
//!   the handlers share;
//! - `jwt`: bearer tokens verified against the JWKS file;
//! - `policy`: the policy file, parsed strictly (errors name the line);
//! - `rate`: the per-caller token buckets;
//! - `layer`: the tower layer that decides each call.

mod ceiling;
mod identity;
pub mod jwt;
pub mod layer;
pub mod policy;
pub mod rate;

pub use ceiling::RefundCeiling;
pub use identity::{Caller, Identity, InvalidIdentity, Proof};
pub use jwt::{Jwks, JwksError, TokenVerifier};
pub use layer::{AuthLayer, BearerTokens};
pub use policy::{Policy, PolicyError, RateLimit};
