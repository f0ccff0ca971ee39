//! Table metadata: what CreateTable declares and DescribeTable reports.

use serde::{Deserialize, Serialize};

use crate::key::{KeySchema, ScalarType};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    pub fn wire(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    pub read_capacity_units: u64,
    pub write_capacity_units: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeDefinition {
    pub name: String,
    pub scalar_type: ScalarType,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A table as the catalog stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    /// Unique for the life of the catalog; never reused, so a recreated table starts empty.
    pub id: u64,
    pub key_schema: KeySchema,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub billing_mode: BillingMode,
    pub throughput: Throughput,
    /// Milliseconds since the Unix epoch.
    pub created_at_millis: u64,
    pub tags: Vec<Tag>,
    pub deletion_protection: bool,
    /// When the billing mode was last chosen explicitly (at creation or by UpdateTable);
    /// DescribeTable reports a BillingModeSummary only then.
    #[serde(default)]
    pub billing_mode_set_at_millis: Option<u64>,
}

impl TableMeta {
    pub fn arn(&self) -> String {
        table_arn(&self.name)
    }
}

/// Tessera's stand-in for an AWS account and region in ARNs.
pub const ARN_PREFIX: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/";

pub fn table_arn(name: &str) -> String {
    format!("{ARN_PREFIX}{name}")
}
