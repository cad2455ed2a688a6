//! `GET /metrics` on `server.metrics_listen`, a listener of its own.

use crate::metrics::Metrics;
use crate::relay::{Live, Relay};
use arc_swap::ArcSwap;
use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use std::sync::Arc;

pub struct MetricsApp {
    pub metrics: Arc<Metrics>,
    pub live: Arc<ArcSwap<Live>>,
    pub relay: Arc<Relay>,
}

#[async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path();
        let (status, content_type, body) = if path == "/metrics" {
            let body = self.metrics.render(&self.live.load(), &self.relay.health);
            (200, "text/plain; version=0.0.4; charset=utf-8", body)
        } else {
            (404, "text/plain", b"not found; try /metrics\n".to_vec())
        };
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("content-length", body.len())
            .body(body)
            .unwrap_or_else(|_| Response::new(Vec::new()))
    }
}
