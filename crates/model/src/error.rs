//! The one error type of the data model and the expression language.
//!
//! Every DynamoDB-visible failure ends as an [`ErrorKind`] plus a message. Only the `api` crate
//! turns a kind into a wire `__type` and an HTTP status; nothing below it knows the wire form.

use std::fmt;

/// What went wrong, in DynamoDB's vocabulary. One variant per DynamoDB error type that any
/// layer can raise; the HTTP mapping lives in the `api` crate (a test there checks each maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// Bad input: `ValidationException`, HTTP 400.
    Validation,
    /// Malformed JSON or a JSON type that does not fit the request shape.
    Serialization,
    /// A ConditionExpression evaluated to false.
    ConditionalCheckFailed,
    ResourceNotFound,
    ResourceInUse,
    LimitExceeded,
    ItemCollectionSizeLimitExceeded,
    ProvisionedThroughputExceeded,
    RequestLimitExceeded,
    Throttling,
    TransactionCanceled,
    TransactionConflict,
    TransactionInProgress,
    IdempotentParameterMismatch,
    UnknownOperation,
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
    AccessDenied,
    /// A bug or an unexpected storage failure: HTTP 500.
    InternalServerError,
    /// Temporarily unable to serve (no leader within the retry budget): HTTP 503.
    ServiceUnavailable,
}

impl ErrorKind {
    /// Every kind, for exhaustive mapping tests in the layers above.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::Validation,
        ErrorKind::Serialization,
        ErrorKind::ConditionalCheckFailed,
        ErrorKind::ResourceNotFound,
        ErrorKind::ResourceInUse,
        ErrorKind::LimitExceeded,
        ErrorKind::ItemCollectionSizeLimitExceeded,
        ErrorKind::ProvisionedThroughputExceeded,
        ErrorKind::RequestLimitExceeded,
        ErrorKind::Throttling,
        ErrorKind::TransactionCanceled,
        ErrorKind::TransactionConflict,
        ErrorKind::TransactionInProgress,
        ErrorKind::IdempotentParameterMismatch,
        ErrorKind::UnknownOperation,
        ErrorKind::MissingAuthenticationToken,
        ErrorKind::IncompleteSignature,
        ErrorKind::InvalidSignature,
        ErrorKind::UnrecognizedClient,
        ErrorKind::AccessDenied,
        ErrorKind::InternalServerError,
        ErrorKind::ServiceUnavailable,
    ];
}

/// A DynamoDB-shaped error: a kind and the exact message a client sees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The item a ConditionalCheckFailedException carries when the request asked for it
    /// (ReturnValuesOnConditionCheckFailure = ALL_OLD).
    pub item: Option<Box<crate::value::Item>>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            item: None,
        }
    }

    /// A `ValidationException` with DynamoDB's exact message text.
    pub fn validation(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Validation, message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Serialization, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InternalServerError, message)
    }

    pub fn resource_not_found() -> Self {
        Error::new(ErrorKind::ResourceNotFound, "Requested resource not found")
    }

    /// `The conditional request failed`, carrying the old item when asked for.
    pub fn conditional_check_failed(item: Option<crate::value::Item>) -> Self {
        Error {
            kind: ErrorKind::ConditionalCheckFailed,
            message: "The conditional request failed".to_string(),
            item: item.map(Box::new),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
