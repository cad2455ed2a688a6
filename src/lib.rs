//! llm-relay: an LLM API gateway on Pingora.
//!
//! The pure core (`protocol`, `translate`, `sse`, `config`, `routing`) has no Pingora
//! or tokio in it and is tested directly; `relay` and `proxy` are the network glue.

pub mod allocator;
pub mod auth;
pub mod config;
pub mod health;
pub mod http1;
pub mod metrics;
pub mod metrics_service;
pub mod protocol;
pub mod proxy;
pub mod relay;
pub mod reload;
pub mod routing;
pub mod sse;
pub mod tls;
pub mod tokens;
pub mod translate;
