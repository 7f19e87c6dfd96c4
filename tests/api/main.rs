//! End-to-end specs: the real simulator and the real gateway on 127.0.0.1:0,
//! called with real gRPC clients. One binary, so everything links once.

// Test code: a failed unwrap is a failed spec, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod account;
mod audit;
mod auth;
mod authorize;
mod cache;
mod cache_coherence;
mod caller_input;
mod catalog;
mod catalog_adapter;
mod catalog_idempotency;
mod certs;
mod cli;
mod collector;
mod connections;
mod errors;
mod get_sale;
mod helpers;
mod hostile;
mod hostile_bodies;
mod idempotency;
mod ins_end_to_end;
mod ins_receiver;
mod limits;
mod list_sales;
mod notification_journal;
mod notifications;
mod redis_server;
mod server;
mod shared_idempotency;
mod shutdown;
mod stand_in;
mod telemetry;
mod tls;
mod writes;
