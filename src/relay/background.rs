//! Background work that runs beside the proxy service: active health checks.

use super::Live;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Probes every channel that has `health_check`, each at its own interval, on the
/// config in force at the time.
pub struct ActiveHealthChecks {
    pub live: Arc<ArcSwap<Live>>,
}

#[async_trait]
impl BackgroundService for ActiveHealthChecks {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut due: HashMap<String, Instant> = HashMap::new();
        let mut probed: Option<Arc<Live>> = None;
        loop {
            let live = self.live.load_full();
            // A reload builds new balancers, which know nothing of the last probes: every
            // channel is probed again at once.
            if !probed.as_ref().is_some_and(|p| Arc::ptr_eq(p, &live)) {
                due.clear();
                probed = Some(live.clone());
            }
            let now = Instant::now();
            for (c, ch) in live.config.channels.iter().enumerate() {
                let Some(hc) = &ch.health_check else { continue };
                if due.get(&ch.name).is_some_and(|t| now < *t) {
                    continue;
                }
                due.insert(ch.name.clone(), now + hc.interval);
                live.balancer.run_health_check(c).await;
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
