//! The workloads (YCSB core workloads A-F, plus pure PutItem, GetItem and a no-op) and the
//! DynamoDB requests their operations send.
//!
//! Records follow YCSB's usertable: `fields` string attributes of `field_bytes` each (10 × 100
//! B by default, ~1 KB). Record `k` lives at partition key `pk = "user{k / rows}"` and sort
//! key `sk = k % rows`, so workload E's short ranges are Queries over one partition.

use rand::Rng;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::keys::KeyDistribution;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// 50% read, 50% update (YCSB A, "update heavy").
    A,
    /// 95% read, 5% update (YCSB B, "read mostly").
    B,
    /// 100% read (YCSB C).
    C,
    /// 95% read of recent records, 5% insert (YCSB D, "read latest").
    D,
    /// 95% short range (Query), 5% insert (YCSB E).
    E,
    /// 50% read, 50% read-modify-write (YCSB F).
    F,
    /// 100% PutItem of whole records (over the loaded key space).
    Put,
    /// 100% GetItem.
    Get,
    /// DescribeLimits: the HTTP and dispatch path with no storage (the server stack's floor).
    Noop,
}

impl std::str::FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "a" => Workload::A,
            "b" => Workload::B,
            "c" => Workload::C,
            "d" => Workload::D,
            "e" => Workload::E,
            "f" => Workload::F,
            "put" => Workload::Put,
            "get" => Workload::Get,
            "noop" => Workload::Noop,
            _ => return Err(format!("unknown workload {s:?} (a, b, c, d, e, f, put, get, noop)")),
        })
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self).ok();
        f.write_str(s.as_ref().and_then(Value::as_str).unwrap_or("?"))
    }
}

/// What one operation of a workload does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// GetItem of one record.
    Read,
    /// UpdateItem setting one field.
    Update,
    /// PutItem of a new record (the key space grows).
    Insert,
    /// Query of up to `rows` consecutive records of one partition.
    Scan,
    /// GetItem, then UpdateItem of the same record (timed as one operation).
    ReadModifyWrite,
    /// PutItem of a whole existing record.
    Put,
    /// DescribeLimits.
    Noop,
}

impl OpKind {
    pub const ALL: [OpKind; 7] = [
        OpKind::Read,
        OpKind::Update,
        OpKind::Insert,
        OpKind::Scan,
        OpKind::ReadModifyWrite,
        OpKind::Put,
        OpKind::Noop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Update => "update",
            OpKind::Insert => "insert",
            OpKind::Scan => "scan",
            OpKind::ReadModifyWrite => "read_modify_write",
            OpKind::Put => "put",
            OpKind::Noop => "noop",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl Workload {
    /// The operation mix, in percent.
    pub fn mix(self) -> &'static [(OpKind, u32)] {
        match self {
            Workload::A => &[(OpKind::Read, 50), (OpKind::Update, 50)],
            Workload::B => &[(OpKind::Read, 95), (OpKind::Update, 5)],
            Workload::C => &[(OpKind::Read, 100)],
            Workload::D => &[(OpKind::Read, 95), (OpKind::Insert, 5)],
            Workload::E => &[(OpKind::Scan, 95), (OpKind::Insert, 5)],
            Workload::F => &[(OpKind::Read, 50), (OpKind::ReadModifyWrite, 50)],
            Workload::Put => &[(OpKind::Put, 100)],
            Workload::Get => &[(OpKind::Read, 100)],
            Workload::Noop => &[(OpKind::Noop, 100)],
        }
    }

    /// YCSB's request distribution for the workload.
    pub fn default_distribution(self) -> KeyDistribution {
        match self {
            Workload::D => KeyDistribution::Latest,
            Workload::Put | Workload::Get | Workload::Noop => KeyDistribution::Uniform,
            _ => KeyDistribution::Zipfian,
        }
    }

    /// Whether the run needs the records loaded first.
    pub fn needs_records(self) -> bool {
        !matches!(self, Workload::Noop | Workload::Put)
    }

    /// Draws an operation of the mix.
    pub fn pick<R: Rng + ?Sized>(self, rng: &mut R) -> OpKind {
        let mix = self.mix();
        let mut roll = rng.random_range(0..100u32);
        for (op, weight) in mix {
            if roll < *weight {
                return *op;
            }
            roll -= weight;
        }
        mix.last().map_or(OpKind::Noop, |(op, _)| *op)
    }

    pub fn describe(self) -> String {
        self.mix()
            .iter()
            .map(|(op, w)| format!("{w}% {}", op.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Record layout and the request bodies of each operation.
#[derive(Clone, Debug)]
pub struct Requests {
    pub table: String,
    pub fields: usize,
    pub field_bytes: usize,
    /// Records per partition key.
    pub rows: u64,
    pub consistent_read: bool,
    /// Field values drawn from (random text, made once: generating 1 KB per operation would
    /// measure the load generator).
    values: Vec<String>,
}

/// Distinct field values per run.
const VALUE_POOL: usize = 256;

impl Requests {
    pub fn new<R: Rng + ?Sized>(
        rng: &mut R,
        table: &str,
        fields: usize,
        field_bytes: usize,
        rows: u64,
        consistent_read: bool,
    ) -> Requests {
        let values = (0..VALUE_POOL)
            .map(|_| {
                (0..field_bytes.max(1))
                    .map(|_| char::from(rng.random_range(b'!'..=b'~')))
                    .collect()
            })
            .collect();
        Requests {
            table: table.to_string(),
            fields,
            field_bytes,
            rows: rows.max(1),
            consistent_read,
            values,
        }
    }

    pub fn key(&self, record: u64) -> Value {
        json!({
            "pk": {"S": format!("user{:010}", record / self.rows)},
            "sk": {"N": (record % self.rows).to_string()},
        })
    }

    fn value<R: Rng + ?Sized>(&self, rng: &mut R) -> &str {
        self.values
            .get(rng.random_range(0..self.values.len().max(1)))
            .map_or("", String::as_str)
    }

    pub fn item<R: Rng + ?Sized>(&self, rng: &mut R, record: u64) -> Value {
        let mut item = match self.key(record) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for f in 0..self.fields {
            item.insert(format!("field{f}"), json!({"S": self.value(rng)}));
        }
        Value::Object(item)
    }

    pub fn get_item(&self, record: u64) -> Value {
        json!({"TableName": self.table, "Key": self.key(record), "ConsistentRead": self.consistent_read})
    }

    pub fn put_item<R: Rng + ?Sized>(&self, rng: &mut R, record: u64) -> Value {
        json!({"TableName": self.table, "Item": self.item(rng, record)})
    }

    pub fn update_item<R: Rng + ?Sized>(&self, rng: &mut R, record: u64) -> Value {
        let field = rng.random_range(0..self.fields.max(1));
        json!({
            "TableName": self.table,
            "Key": self.key(record),
            "UpdateExpression": "SET #f = :v",
            "ExpressionAttributeNames": {"#f": format!("field{field}")},
            "ExpressionAttributeValues": {":v": {"S": self.value(rng)}},
        })
    }

    /// Up to `len` records of `record`'s partition, from `record` on.
    pub fn query(&self, record: u64, len: u64) -> Value {
        json!({
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND sk >= :s",
            "ExpressionAttributeValues": {
                ":p": {"S": format!("user{:010}", record / self.rows)},
                ":s": {"N": (record % self.rows).to_string()},
            },
            "Limit": len.max(1),
            "ConsistentRead": self.consistent_read,
        })
    }

    pub fn batch_put<R: Rng + ?Sized>(&self, rng: &mut R, records: impl Iterator<Item = u64>) -> Value {
        let puts: Vec<Value> = records
            .map(|r| json!({"PutRequest": {"Item": self.item(rng, r)}}))
            .collect();
        json!({"RequestItems": {self.table.clone(): puts}})
    }

    pub fn create_table(&self) -> Value {
        json!({
            "TableName": self.table,
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    /// Each workload draws its operations in YCSB's proportions.
    #[test]
    fn mixes_follow_their_weights() {
        let mut rng = SmallRng::seed_from_u64(1);
        for w in [Workload::A, Workload::B, Workload::D, Workload::E, Workload::F] {
            let mut counts = [0u32; 7];
            for _ in 0..100_000 {
                counts[w.pick(&mut rng).index()] += 1;
            }
            for (op, weight) in w.mix() {
                let expected = weight * 1000;
                let got = counts[op.index()];
                assert!(got.abs_diff(expected) < 1000, "{w}: {} {got} vs {expected}", op.name());
            }
            assert_eq!(w.mix().iter().map(|(_, w)| w).sum::<u32>(), 100);
        }
    }

    /// A record is ~1 KB of fields under the key YCSB's usertable would give it.
    #[test]
    fn records_have_the_configured_shape() {
        let mut rng = SmallRng::seed_from_u64(2);
        let r = Requests::new(&mut rng, "t", 10, 100, 10, false);
        let item = r.item(&mut rng, 123);
        assert_eq!(item["pk"]["S"], "user0000000012");
        assert_eq!(item["sk"]["N"], "3");
        for f in 0..10 {
            assert_eq!(item[format!("field{f}")]["S"].as_str().unwrap().len(), 100);
        }
        let q = r.query(123, 5);
        assert_eq!(q["Limit"], 5);
        assert_eq!(q["ExpressionAttributeValues"][":s"]["N"], "3");
        let batch = r.batch_put(&mut rng, 0..25);
        assert_eq!(batch["RequestItems"]["t"].as_array().unwrap().len(), 25);
    }
}
