//! 2Checkout's Instant Notification Service (INS), received and fanned out.
//!
//! 2Checkout posts one form per event (a refund, a fraud review, a deposit, a
//! recurring installment) to the receiver's own listener (`ins.listen_addr`).
//! The receiver checks the form's size and its `md5_hash` and `vendor_id`,
//! evicts the sale from every replica's cache, stores the verified form in
//! the journal (deduplicated by vendor and message id) and only then answers
//! 2xx, so 2Checkout's resend is the only retry anyone needs. Callers read
//! the journal as typed events through `twocheckout.v1.NotificationService`
//! (`grpc::notifications`): a live watch that resumes after a cursor, or a
//! paged catch-up.
//!
//! The journal and the eviction are ports ([`crate::domain::NotificationJournal`],
//! [`crate::domain::SaleEviction`]); the journal is a bounded in-memory one for
//! a single process, or a Redis stream every replica shares.

pub mod journal;
pub mod receiver;
#[cfg(test)]
pub(crate) mod samples;
