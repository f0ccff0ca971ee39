//! A small client of a DAX cluster that knows its nodes and fails over, like DAX's own
//! clients: it learns the node list from any seed's `GET /cluster/endpoints`, spreads calls
//! over the nodes (a call that cannot connect or gets a 5xx moves on to the next node), and
//! refreshes the list every few seconds in the background.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use tessera_api::client::Client;

/// How often the node list is refreshed (DAX clients use 4 s).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(4);

pub struct DaxClient {
    seeds: Vec<String>,
    timeout: Duration,
    retry_budget: Duration,
    probe: Client,
    current: RwLock<Arc<Client>>,
}

impl DaxClient {
    /// Discovers the cluster from `seeds` (`http://host:port` of any nodes) and keeps the
    /// node list fresh until the client is dropped. Each call may take `timeout` per node and
    /// keeps failing over for up to `retry_budget` (a primary election takes a few seconds).
    pub async fn connect(
        seeds: Vec<String>,
        timeout: Duration,
        retry_budget: Duration,
    ) -> Result<Arc<DaxClient>, String> {
        let client = Arc::new(DaxClient {
            probe: Client::new(Vec::new(), Duration::from_secs(2)),
            current: RwLock::new(Arc::new(
                Client::new(seeds.clone(), timeout).with_retry_budget(retry_budget),
            )),
            seeds,
            timeout,
            retry_budget,
        });
        client.refresh().await?;
        let weak: Weak<DaxClient> = Arc::downgrade(&client);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_INTERVAL).await;
                let Some(c) = weak.upgrade() else { return };
                if let Err(e) = c.refresh().await {
                    tracing::debug!(error = %e, "DAX node list not refreshed");
                }
            }
        });
        Ok(client)
    }

    /// Asks the known nodes, then the seeds, for the node list; the first answer wins.
    pub async fn refresh(&self) -> Result<(), String> {
        let mut candidates: Vec<String> = self.client().endpoints().to_vec();
        candidates.extend(self.seeds.iter().cloned());
        let mut last = String::from("no seeds");
        for endpoint in candidates {
            match self.probe.get_json(&endpoint, "/cluster/endpoints").await {
                Ok(v) => {
                    let nodes: Vec<String> = v["nodes"]
                        .as_array()
                        .map(|list| {
                            list.iter()
                                .filter_map(|n| n["endpoint"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    if nodes.is_empty() {
                        last = format!("{endpoint}: empty node list");
                        continue;
                    }
                    if nodes != self.client().endpoints() {
                        let fresh = Arc::new(Client::new(nodes, self.timeout).with_retry_budget(self.retry_budget));
                        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                    }
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The client over the current node list (typed calls and raw calls, with failover).
    pub fn client(&self) -> Arc<Client> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
