//! Where the error types have always been found: the domain error
//! ([`crate::domain::Error`]) and, for the README and callers that check
//! statuses, the edge's table ([`crate::grpc::status`]). Nothing is defined
//! here; the paths stay so existing imports keep working.

pub use crate::{
    domain::{AdminCode, Error, PaymentCode, PaymentError, VendorError, reason},
    grpc::status::{ERROR_DOMAIN, code_name, markdown_table},
};
