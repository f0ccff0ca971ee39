//! The table catalog of an embedded store: table metadata in its own sled tree. (In a
//! cluster the metadata Raft group holds the same `TableMeta` records.)

use tessera_model::table::TableMeta;
use tessera_model::{Error, ErrorKind, Result};

use crate::sled_error;

const TABLE_KEY_PREFIX: &[u8] = b"t/";

pub struct Catalog {
    db: sled::Db,
    tree: sled::Tree,
}

fn table_key(name: &str) -> Vec<u8> {
    [TABLE_KEY_PREFIX, name.as_bytes()].concat()
}

fn decode(bytes: &[u8]) -> Result<TableMeta> {
    serde_json::from_slice(bytes).map_err(|e| Error::internal(format!("catalog entry is corrupt: {e}")))
}

fn encode(meta: &TableMeta) -> Result<Vec<u8>> {
    serde_json::to_vec(meta).map_err(|e| Error::internal(e.to_string()))
}

impl Catalog {
    pub fn open(db: &sled::Db) -> Result<Catalog> {
        Ok(Catalog {
            db: db.clone(),
            tree: db.open_tree("catalog").map_err(sled_error)?,
        })
    }

    pub fn get(&self, name: &str) -> Result<Option<TableMeta>> {
        self.tree
            .get(table_key(name))
            .map_err(sled_error)?
            .map(|b| decode(&b))
            .transpose()
    }

    /// All table names, in byte order (ListTables' order).
    pub fn names(&self) -> Result<Vec<String>> {
        self.tree
            .scan_prefix(TABLE_KEY_PREFIX)
            .keys()
            .map(|k| {
                let k = k.map_err(sled_error)?;
                String::from_utf8(k[TABLE_KEY_PREFIX.len()..].to_vec()).map_err(|_| Error::internal("bad table key"))
            })
            .collect()
    }

    /// Adds a table, assigning it a fresh id; `ResourceInUseException` if the name is taken.
    pub fn create(&self, mut meta: TableMeta) -> Result<TableMeta> {
        // Ids start at 1: table id 0's key space is reserved in every shard.
        meta.id = self.db.generate_id().map_err(sled_error)? + 1;
        let bytes = encode(&meta)?;
        match self
            .tree
            .compare_and_swap(table_key(&meta.name), None as Option<&[u8]>, Some(bytes))
            .map_err(sled_error)?
        {
            Ok(()) => Ok(meta),
            Err(_) => Err(Error::new(
                ErrorKind::ResourceInUse,
                format!("Table already exists: {}", meta.name),
            )),
        }
    }

    /// Replaces a table's metadata (UpdateTable, tags).
    pub fn put(&self, meta: &TableMeta) -> Result<()> {
        self.tree
            .insert(table_key(&meta.name), encode(meta)?)
            .map_err(sled_error)?;
        Ok(())
    }

    pub fn remove(&self, name: &str) -> Result<Option<TableMeta>> {
        self.tree
            .remove(table_key(name))
            .map_err(sled_error)?
            .map(|b| decode(&b))
            .transpose()
    }
}
