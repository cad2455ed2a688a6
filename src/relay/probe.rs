//! Active health checks: a channel with `health_check` is probed through
//! pingora-load-balancing's health-check mechanism. The balancer's backends carry
//! synthetic addresses, so the probe resolves the real upstream from the channel and
//! sends `GET <path>` with the key the backend stands for; a 2xx marks it ready.

use super::upstream::{peer, DnsCache};
use crate::config::Channel;
use async_trait::async_trait;
use pingora::connectors::http::Connector;
use pingora::{Error, ErrorType, Result};
use pingora_http::RequestHeader;
use pingora_load_balancing::health_check::HealthCheck;
use pingora_load_balancing::Backend;
use std::sync::Arc;

pub struct ChannelProbe {
    channel: Arc<Channel>,
    ca: Option<Arc<pingora::protocols::tls::CaType>>,
    path: String,
    connector: Connector,
    dns: DnsCache,
}

impl ChannelProbe {
    pub fn new(channel: Arc<Channel>, ca: Option<Arc<pingora::protocols::tls::CaType>>) -> Option<Self> {
        let path = channel.health_check.as_ref()?.path.clone();
        Some(ChannelProbe { channel, ca, path, connector: Connector::new(None), dns: DnsCache::default() })
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
        let addr = self.dns.resolve(&ch.upstream.host, ch.upstream.port).await.map_err(|e| fail(e.to_string()))?;
        let peer = peer(ch, addr, self.ca.as_ref());
        let mut req = RequestHeader::build("GET", self.path.as_bytes(), Some(4))?;
        req.insert_header("host", ch.upstream.authority.as_str())?;
        super::upstream::insert_auth(&mut req, ch.protocol, key)?;
        let probe = async {
            let (mut up, _) = self.connector.get_http_session(&peer).await?;
            up.write_request_header(Box::new(req)).await?;
            up.finish_request_body().await?;
            up.read_response_header().await?;
            let status = up.response_header().map_or(0, |h| h.status.as_u16());
            while up.read_response_body().await?.is_some() {}
            self.connector.release_http_session(up, &peer, None).await;
            Ok::<u16, Box<Error>>(status)
        };
        let status = tokio::time::timeout(ch.timeouts.first_byte.min(std::time::Duration::from_secs(10)), probe)
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
