//! The smart DAX client against a real three-node DAX cluster (in process, real sockets) in
//! front of a real `tessera local`: it discovers the nodes from one seed, and keeps working
//! when the primary stops, with every acknowledged write readable afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use tessera_api::client::Client;
use tessera_dax::cache::CacheConfig;
use tessera_dax::client::DaxClient;
use tessera_dax::raft::DaxNode;
use tessera_dax::{run, DaxSettings};
use tessera_model::ops::{GetItem, Placeholders, PutItem, WriteOptions};
use tessera_model::{AttributeValue, Item};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

fn item(pk: &str, n: u32) -> Item {
    let mut i = Item::new();
    i.insert("pk".into(), AttributeValue::S(pk.into()));
    i.insert("n".into(), AttributeValue::N(n.to_string().parse().unwrap()));
    i
}

fn key(pk: &str) -> Item {
    let mut i = Item::new();
    i.insert("pk".into(), AttributeValue::S(pk.into()));
    i
}

fn get(pk: &str, consistent: bool) -> GetItem {
    GetItem {
        table: "dax-client".into(),
        key: key(pk),
        projection: None,
        placeholders: Placeholders::default(),
        consistent,
    }
}

fn put(pk: &str, n: u32) -> PutItem {
    PutItem {
        table: "dax-client".into(),
        item: item(pk, n),
        options: WriteOptions::default(),
    }
}

async fn primary_of(probe: &Client, endpoint: &str) -> Option<u64> {
    probe.get_json(endpoint, "/cluster/endpoints").await.ok()?["primary"].as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_client_discovers_the_cluster_and_fails_over() {
    // Storage: a real tessera local, in memory.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let (stop_local, stopped) = oneshot::channel::<()>();
    let local = tokio::spawn(tessera_cli::local::run_on(listener, None, async {
        let _ = stopped.await;
    }));

    // Three DAX nodes on port-0 sockets, each with a vote directory of its own.
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut listeners = Vec::new();
    let mut peers = BTreeMap::new();
    for id in 1..=3u64 {
        let api = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cluster = TcpListener::bind("127.0.0.1:0").await.unwrap();
        peers.insert(
            id,
            DaxNode {
                api: api.local_addr().unwrap().to_string(),
                cluster: cluster.local_addr().unwrap().to_string(),
                az: ["a", "b", "c"][id as usize - 1].into(),
            },
        );
        listeners.push((id, api, cluster));
    }
    let mut nodes: BTreeMap<u64, Running> = BTreeMap::new();
    for (id, api, cluster) in listeners {
        let settings = DaxSettings {
            node_id: id,
            az: peers[&id].az.clone(),
            peers: peers.clone(),
            routers: vec![upstream.clone()],
            cache: CacheConfig {
                item_ttl: Duration::from_secs(300),
                query_ttl: Duration::from_secs(300),
                max_bytes: 1 << 24,
            },
            data_dir: Some(dirs[id as usize - 1].path().to_path_buf()),
            heartbeat_ms: 100,
            election_min_ms: 400,
            election_max_ms: 800,
            upstream_timeout: Duration::from_secs(5),
        };
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(settings, api, cluster, async {
            let _ = rx.await;
        }));
        nodes.insert(id, Running { stop: Some(stop), task });
    }

    let admin = Client::new(vec![upstream.clone()], Duration::from_secs(10));
    admin
        .call_json(
            "CreateTable",
            &json!({
                "TableName": "dax-client",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        )
        .await
        .unwrap();

    let seed = format!("http://{}", peers[&1].api);
    let probe = Client::new(Vec::new(), Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(20);
    let primary = loop {
        if let Some(p) = primary_of(&probe, &seed).await {
            break p;
        }
        assert!(Instant::now() < deadline, "no DAX primary within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let dax = DaxClient::connect(vec![seed], Duration::from_secs(5), Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(
        dax.client().endpoints().len(),
        3,
        "the client learned every node from one seed"
    );

    for i in 0..20 {
        let pk = format!("before-{i}");
        dax.client().put_item(&put(&pk, i)).await.unwrap();
        assert_eq!(
            dax.client().get_item(&get(&pk, false)).await.unwrap(),
            Some(item(&pk, i))
        );
    }

    // The primary stops; the client keeps writing and reading through the others.
    nodes.remove(&primary).unwrap().stop().await;
    let stopped_at = Instant::now();
    for i in 0..20 {
        let pk = format!("after-{i}");
        dax.client().put_item(&put(&pk, i)).await.unwrap();
        assert_eq!(
            dax.client().get_item(&get(&pk, false)).await.unwrap(),
            Some(item(&pk, i))
        );
    }
    let survivor = nodes.keys().next().copied().unwrap();
    let new_primary = primary_of(&probe, &format!("http://{}", peers[&survivor].api)).await;
    assert!(
        new_primary.is_some() && new_primary != Some(primary),
        "a new primary: {new_primary:?}"
    );
    println!(
        "writes resumed; 20 writes after the stop took {:?}",
        stopped_at.elapsed()
    );

    // Every acknowledged write is in storage.
    for prefix in ["before", "after"] {
        for i in 0..20 {
            let pk = format!("{prefix}-{i}");
            assert_eq!(admin.get_item(&get(&pk, true)).await.unwrap(), Some(item(&pk, i)));
        }
    }

    for (_, n) in nodes {
        n.stop().await;
    }
    let _ = stop_local.send(());
    let _ = local.await;
}
