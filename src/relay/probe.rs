//! Active health checks: a channel with `health_check` is probed through
//! pingora-load-balancing's health-check mechanism. The balancer's backends carry
//! synthetic addresses, so the probe resolves the real upstream from the channel and
//! sends `GET <path>` with the key the backend stands for; a 2xx marks it ready.

use super::conn;
use super::upstream::{peer, probe_head, DnsCache};
use crate::config::Channel;
use async_trait::async_trait;
use bytes::Bytes;
use pingora::connectors::TransportConnector;
use pingora::{Error, ErrorType, Result};
use pingora_load_balancing::health_check::HealthCheck;
use pingora_load_balancing::Backend;
use std::sync::Arc;

pub struct ChannelProbe {
    channel: Arc<Channel>,
    ca: Option<Arc<pingora::protocols::tls::CaType>>,
    path: String,
    transport: TransportConnector,
    dns: DnsCache,
}

impl ChannelProbe {
    pub fn new(channel: Arc<Channel>, ca: Option<Arc<pingora::protocols::tls::CaType>>) -> Option<Self> {
        let path = channel.health_check.as_ref()?.path.clone();
        Some(ChannelProbe { channel, ca, path, transport: TransportConnector::new(None), dns: DnsCache::default() })
    }
}

fn fail(what: String) -> Box<Error> {
    Error::explain(ErrorType::ConnectError, what)
}

#[async_trait]
impl HealthCheck for ChannelProbe {
    async fn check(&self, target: &Backend) -> Result<()> {
        let key_index = target.addr.as_inet().map_or(1, |a| a.port() as usize).saturating_sub(1);
        let ch = &self.channel;
        let key = ch.keys.get(key_index).ok_or_else(|| fail(format!("channel {}: no key {key_index}", ch.name)))?;
        let addr = self.dns.resolve(&ch.upstream).await.map_err(|e| fail(e.to_string()))?;
        let peer = peer(ch, addr, self.ca.as_ref());
        let head = probe_head(ch, key, &self.path).map_err(|e| fail(format!("channel {}: {e}", ch.name)))?;
        let limit = ch.timeouts.first_byte.min(std::time::Duration::from_secs(10));
        // One connection per probe, closed after it: probes are seconds apart.
        let probe = async {
            let stream = self.transport.new_stream(&peer).await?;
            let mut answer = conn::send(stream, &head, &Bytes::new()).await?;
            answer.read_to_end(64 * 1024, limit).await.map_err(fail)?;
            Ok::<u16, Box<Error>>(answer.status)
        };
        let status = tokio::time::timeout(limit, probe)
            .await
            .map_err(|_| fail(format!("channel {}: health check timed out", ch.name)))??;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(fail(format!("channel {} key {}: health check returned {status}", ch.name, key.id)))
        }
    }

    async fn health_status_change(&self, target: &Backend, healthy: bool) {
        let key_index = target.addr.as_inet().map_or(1, |a| a.port() as usize).saturating_sub(1);
        let id = self.channel.keys.get(key_index).map_or("?", |k| k.id.as_str());
        log::warn!(
            "channel {} key {id}: active health check says {}",
            self.channel.name,
            if healthy { "up" } else { "down" }
        );
    }

    fn health_threshold(&self, _success: bool) -> usize {
        1
    }
}
