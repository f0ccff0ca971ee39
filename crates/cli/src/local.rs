//! `tessera local`: the DynamoDB API in front of the embedded store, in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tessera_api::Backend;
use tessera_model::ops::{DeleteItem, GetItem, Page, PutItem, Query, Scan, UpdateItem, WriteOutput, WriteRequest};
use tessera_model::table::TableMeta;
use tessera_model::{Error, Item, Result};
use tessera_storage::{ShardCommand, Store, TableRef};

/// Serves the API from a [`Store`]: the catalog answers control-plane calls, the shard the
/// item operations.
pub struct LocalBackend {
    store: Store,
}

impl LocalBackend {
    pub fn new(store: Store) -> Self {
        LocalBackend { store }
    }

    pub fn into_store(self) -> Store {
        self.store
    }
}

impl Backend for LocalBackend {
    async fn create_table(&self, meta: TableMeta) -> Result<TableMeta> {
        let meta = self.store.catalog().create(meta)?;
        self.store.sync().await?;
        Ok(meta)
    }

    async fn describe_table(&self, name: &str) -> Result<Option<TableMeta>> {
        self.store.catalog().get(name)
    }

    async fn list_tables(&self) -> Result<Vec<String>> {
        self.store.catalog().names()
    }

    async fn update_table(&self, meta: TableMeta) -> Result<TableMeta> {
        self.store.catalog().put(&meta)?;
        self.store.sync().await?;
        Ok(meta)
    }

    async fn delete_table(&self, name: &str) -> Result<TableMeta> {
        let meta = self
            .store
            .catalog()
            .remove(name)?
            .ok_or_else(Error::resource_not_found)?;
        self.store.write(&ShardCommand::DropTable { table_id: meta.id }).await?;
        Ok(meta)
    }

    async fn put_item(&self, table: &TableMeta, op: PutItem) -> Result<WriteOutput> {
        self.store
            .write(&ShardCommand::Put {
                table: table.into(),
                op,
            })
            .await
    }

    async fn update_item(&self, table: &TableMeta, op: UpdateItem) -> Result<WriteOutput> {
        self.store
            .write(&ShardCommand::Update {
                table: table.into(),
                op,
            })
            .await
    }

    async fn delete_item(&self, table: &TableMeta, op: DeleteItem) -> Result<WriteOutput> {
        self.store
            .write(&ShardCommand::Delete {
                table: table.into(),
                op,
            })
            .await
    }

    async fn get_item(&self, table: &TableMeta, op: GetItem) -> Result<Option<Arc<Item>>> {
        Ok(self.store.get(&TableRef::from(table), &op)?.map(Arc::new))
    }

    async fn query(&self, table: &TableMeta, op: Query) -> Result<Page> {
        self.store.query(&TableRef::from(table), &op)
    }

    async fn scan(&self, table: &TableMeta, op: Scan) -> Result<Page> {
        self.store.scan(&TableRef::from(table), &op)
    }

    async fn batch_write(&self, table: &TableMeta, requests: Vec<WriteRequest>) -> Result<Vec<WriteRequest>> {
        self.store
            .write(&ShardCommand::BatchWrite {
                table: table.into(),
                requests,
            })
            .await?;
        Ok(Vec::new())
    }
}

pub struct LocalConfig {
    pub listen: SocketAddr,
    /// None: in memory only.
    pub data_dir: Option<PathBuf>,
}

/// Runs until `shutdown` resolves; then stops accepting, finishes requests in flight and
/// flushes the store.
pub async fn run(config: LocalConfig, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::internal(format!("cannot listen on {}: {e}", config.listen)))?;
    run_on(listener, config.data_dir, shutdown).await
}

/// [`run`] on a listener bound already (tests bind port 0 and read the address first).
pub async fn run_on(
    listener: tokio::net::TcpListener,
    data_dir: Option<PathBuf>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let config = LocalConfig {
        listen: listener.local_addr().map_err(|e| Error::internal(e.to_string()))?,
        data_dir,
    };
    let store = match &config.data_dir {
        Some(dir) => Store::open(dir).await?,
        None => Store::open_in_memory()?,
    };
    let address = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    // The one line on stdout: scripts and tests wait for it.
    println!("tessera local listening on http://{address}");
    tracing::info!(%address, data_dir = ?config.data_dir, "tessera local started");
    let backend = Arc::new(LocalBackend::new(store));
    tessera_api::serve(listener, backend.clone(), shutdown)
        .await
        .map_err(|e| Error::internal(format!("server failed: {e}")))?;
    match Arc::try_unwrap(backend) {
        Ok(backend) => backend.into_store().close().await?,
        Err(_) => tracing::warn!("requests still hold the store; it flushes on drop"),
    }
    tracing::info!("tessera local stopped");
    Ok(())
}
