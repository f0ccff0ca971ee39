//! Cluster metadata, replicated by group 0: tables, their shards (hash range → Raft group →
//! replicas, two per AZ on distinct nodes), and the nodes with their AZs. Applying a command
//! is deterministic, so every replica computes the same placement.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tessera_model::table::TableMeta;
use tessera_model::{Error, ErrorKind, Result};

use crate::types::NodeInfo;

/// The metadata group's id; data groups are numbered from 1.
pub const META_GROUP: u64 = 0;
/// Replicas per shard: two in each of three availability zones.
pub const REPLICAS_PER_SHARD: usize = 6;
/// Replicas of one shard placed in one availability zone.
pub const REPLICAS_PER_AZ: usize = 2;

/// One shard of a table: a range of partition-key hashes served by one Raft group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub group: u64,
    /// The hash range `[hash_lo, hash_hi)`; `hash_hi` None means the end of the hash space.
    pub hash_lo: u64,
    pub hash_hi: Option<u64>,
    pub replicas: Vec<u64>,
    /// The replica that initialises the group (and so usually leads it first): placement
    /// spreads these evenly, since openraft 0.9 cannot transfer leadership later.
    pub initial_leader: u64,
}

impl ShardInfo {
    pub fn contains(&self, hash: u64) -> bool {
        hash >= self.hash_lo && self.hash_hi.is_none_or(|hi| hash < hi)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableState {
    pub meta: TableMeta,
    /// In hash order.
    pub shards: Vec<ShardInfo>,
}

impl TableState {
    pub fn shard_for(&self, hash: u64) -> Option<&ShardInfo> {
        self.shards.iter().find(|s| s.contains(hash))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Bumped by every change; routers cache the state and refresh when it is stale.
    pub version: u64,
    pub tables: BTreeMap<String, TableState>,
    pub nodes: BTreeMap<u64, NodeInfo>,
    pub next_table_id: u64,
    pub next_group_id: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum MetaCommand {
    CreateTable { meta: TableMeta, shards: u32 },
    UpdateTable { meta: TableMeta },
    DeleteTable { name: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum MetaOutput {
    Table(TableMeta),
}

fn not_found(name: &str) -> Error {
    Error::new(
        ErrorKind::ResourceNotFound,
        format!("Requested resource not found: Table: {name} not found"),
    )
}

impl ClusterState {
    /// Applies a metadata command (deterministically).
    pub fn apply(&mut self, command: &MetaCommand) -> Result<MetaOutput> {
        let out = match command {
            MetaCommand::CreateTable { meta, shards } => {
                if self.tables.contains_key(&meta.name) {
                    return Err(Error::new(
                        ErrorKind::ResourceInUse,
                        format!("Table already exists: {}", meta.name),
                    ));
                }
                let mut meta = meta.clone();
                self.next_table_id = self.next_table_id.max(1);
                meta.id = self.next_table_id;
                self.next_table_id += 1;
                let shards = self.place(*shards.max(&1));
                self.tables.insert(
                    meta.name.clone(),
                    TableState {
                        meta: meta.clone(),
                        shards,
                    },
                );
                MetaOutput::Table(meta)
            }
            MetaCommand::UpdateTable { meta } => {
                let table = self.tables.get_mut(&meta.name).ok_or_else(|| not_found(&meta.name))?;
                // Identity and key schema never change.
                let mut updated = meta.clone();
                updated.id = table.meta.id;
                updated.key_schema = table.meta.key_schema.clone();
                table.meta = updated.clone();
                MetaOutput::Table(updated)
            }
            MetaCommand::DeleteTable { name } => {
                let table = self.tables.remove(name).ok_or_else(|| not_found(name))?;
                MetaOutput::Table(table.meta)
            }
        };
        self.version += 1;
        Ok(out)
    }

    /// Records the metadata group's membership as the cluster's nodes.
    pub fn set_nodes(&mut self, nodes: BTreeMap<u64, NodeInfo>) {
        if self.nodes != nodes {
            self.nodes = nodes;
            self.version += 1;
        }
    }

    /// Chooses replicas and an initial leader for `count` new shards: per AZ the two nodes
    /// holding the fewest replicas, and as leader the replica leading the fewest groups.
    fn place(&mut self, count: u32) -> Vec<ShardInfo> {
        let mut replica_load: BTreeMap<u64, usize> = self.nodes.keys().map(|n| (*n, 0)).collect();
        let mut leader_load: BTreeMap<u64, usize> = replica_load.clone();
        for shard in self.tables.values().flat_map(|t| &t.shards) {
            for r in &shard.replicas {
                *replica_load.entry(*r).or_default() += 1;
            }
            *leader_load.entry(shard.initial_leader).or_default() += 1;
        }
        let mut by_az: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for (id, info) in &self.nodes {
            by_az.entry(info.az.as_str()).or_default().push(*id);
        }
        let mut shards = Vec::with_capacity(count as usize);
        for i in 0..count {
            let mut replicas: Vec<u64> = Vec::new();
            for nodes in by_az.values() {
                let mut candidates = nodes.clone();
                candidates.sort_by_key(|n| (replica_load.get(n).copied().unwrap_or(0), *n));
                replicas.extend(candidates.into_iter().take(REPLICAS_PER_AZ));
            }
            // Fewer AZs than three (or small AZs): fill up from the least loaded nodes.
            let wanted = REPLICAS_PER_SHARD.min(self.nodes.len());
            if replicas.len() < wanted {
                let mut rest: Vec<u64> = self.nodes.keys().copied().filter(|n| !replicas.contains(n)).collect();
                rest.sort_by_key(|n| (replica_load.get(n).copied().unwrap_or(0), *n));
                replicas.extend(rest.into_iter().take(wanted - replicas.len()));
            }
            replicas.truncate(REPLICAS_PER_SHARD.max(wanted));
            replicas.sort_unstable();
            for r in &replicas {
                *replica_load.entry(*r).or_default() += 1;
            }
            let leader = replicas
                .iter()
                .copied()
                .min_by_key(|n| (leader_load.get(n).copied().unwrap_or(0), *n))
                .unwrap_or(0);
            *leader_load.entry(leader).or_default() += 1;
            self.next_group_id = self.next_group_id.max(1);
            let group = self.next_group_id;
            self.next_group_id += 1;
            let (hash_lo, hash_hi) = tessera_storage::segment_range(i, count);
            shards.push(ShardInfo {
                group,
                hash_lo,
                hash_hi,
                replicas,
                initial_leader: leader,
            });
        }
        shards
    }

    /// Every (table, shard) with a replica on `node`.
    pub fn shards_on(&self, node: u64) -> impl Iterator<Item = (&TableState, &ShardInfo)> {
        self.tables
            .values()
            .flat_map(|t| t.shards.iter().map(move |s| (t, s)))
            .filter(move |(_, s)| s.replicas.contains(&node))
    }

    /// The table a data group belongs to.
    pub fn table_of_group(&self, group: u64) -> Option<&TableState> {
        self.tables.values().find(|t| t.shards.iter().any(|s| s.group == group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_model::key::{KeyAttribute, KeySchema, ScalarType};
    use tessera_model::table::{BillingMode, Throughput};

    fn meta(name: &str) -> TableMeta {
        TableMeta {
            name: name.into(),
            id: 0,
            key_schema: KeySchema {
                partition: KeyAttribute {
                    name: "pk".into(),
                    scalar_type: ScalarType::S,
                },
                sort: None,
            },
            attribute_definitions: vec![],
            billing_mode: BillingMode::PayPerRequest,
            throughput: Throughput::default(),
            created_at_millis: 0,
            tags: vec![],
            deletion_protection: false,
            billing_mode_set_at_millis: None,
        }
    }

    fn six_nodes() -> ClusterState {
        let mut s = ClusterState::default();
        let nodes = (1..=6)
            .map(|i| {
                (
                    i,
                    NodeInfo {
                        addr: format!("n{i}"),
                        az: ["a", "b", "c"][((i - 1) / 2) as usize].into(),
                    },
                )
            })
            .collect();
        s.set_nodes(nodes);
        s
    }

    /// Six nodes in three AZs: every shard has all six (two per AZ), leaders spread evenly,
    /// hash ranges tile the space.
    #[test]
    fn places_two_replicas_per_az_and_spreads_leaders() {
        let mut s = six_nodes();
        s.apply(&MetaCommand::CreateTable {
            meta: meta("t"),
            shards: 6,
        })
        .unwrap();
        let t = &s.tables["t"];
        assert_eq!(t.shards.len(), 6);
        let mut leaders: Vec<u64> = t.shards.iter().map(|sh| sh.initial_leader).collect();
        leaders.sort_unstable();
        assert_eq!(leaders, vec![1, 2, 3, 4, 5, 6]);
        for sh in &t.shards {
            assert_eq!(sh.replicas, vec![1, 2, 3, 4, 5, 6]);
        }
        assert_eq!(t.shards[0].hash_lo, 0);
        for w in t.shards.windows(2) {
            assert_eq!(w[0].hash_hi, Some(w[1].hash_lo));
        }
        assert_eq!(t.shards[5].hash_hi, None);
        let groups: Vec<u64> = t.shards.iter().map(|s| s.group).collect();
        assert_eq!(groups, vec![1, 2, 3, 4, 5, 6]);
    }

    /// With more nodes than replicas, each AZ still gets exactly two, on distinct nodes.
    #[test]
    fn bigger_clusters_keep_two_per_az() {
        let mut s = ClusterState::default();
        let nodes = (1..=9)
            .map(|i| {
                (
                    i,
                    NodeInfo {
                        addr: format!("n{i}"),
                        az: ["a", "b", "c"][((i - 1) / 3) as usize].into(),
                    },
                )
            })
            .collect();
        s.set_nodes(nodes);
        s.apply(&MetaCommand::CreateTable {
            meta: meta("t"),
            shards: 3,
        })
        .unwrap();
        for sh in &s.tables["t"].shards {
            assert_eq!(sh.replicas.len(), 6);
            for az in ["a", "b", "c"] {
                assert_eq!(sh.replicas.iter().filter(|r| s.nodes[r].az == az).count(), 2);
            }
        }
    }

    #[test]
    fn table_errors_use_dynamodb_messages() {
        let mut s = six_nodes();
        s.apply(&MetaCommand::CreateTable {
            meta: meta("t"),
            shards: 1,
        })
        .unwrap();
        let e = s
            .apply(&MetaCommand::CreateTable {
                meta: meta("t"),
                shards: 1,
            })
            .unwrap_err();
        assert_eq!(e.message, "Table already exists: t");
        let e = s.apply(&MetaCommand::DeleteTable { name: "x".into() }).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceNotFound);
        assert!(s.apply(&MetaCommand::DeleteTable { name: "t".into() }).is_ok());
    }

    #[test]
    fn a_single_node_hosts_everything() {
        let mut s = ClusterState::default();
        s.set_nodes(BTreeMap::from([(
            1,
            NodeInfo {
                addr: "n1".into(),
                az: "a".into(),
            },
        )]));
        s.apply(&MetaCommand::CreateTable {
            meta: meta("t"),
            shards: 2,
        })
        .unwrap();
        for sh in &s.tables["t"].shards {
            assert_eq!(sh.replicas, vec![1]);
            assert_eq!(sh.initial_leader, 1);
        }
    }
}
