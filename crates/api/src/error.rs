//! The one place where an `ErrorKind` becomes a wire error: `__type`, HTTP status and the body.

use serde_json::{json, Value};
use tessera_model::{item_to_json, Error, ErrorKind};

/// `__type` (namespace#Name) and HTTP status of each kind.
pub fn wire(kind: ErrorKind) -> (&'static str, u16) {
    use ErrorKind::*;
    match kind {
        Validation => ("com.amazon.coral.validate#ValidationException", 400),
        Serialization => ("com.amazon.coral.service#SerializationException", 400),
        UnknownOperation => ("com.amazon.coral.service#UnknownOperationException", 400),
        MissingAuthenticationToken => ("com.amazon.coral.service#MissingAuthenticationTokenException", 400),
        IncompleteSignature => ("com.amazon.coral.service#IncompleteSignatureException", 400),
        InvalidSignature => ("com.amazon.coral.service#InvalidSignatureException", 400),
        UnrecognizedClient => ("com.amazon.coral.service#UnrecognizedClientException", 400),
        AccessDenied => ("com.amazon.coral.service#AccessDeniedException", 400),
        Throttling => ("com.amazon.coral.availability#ThrottlingException", 400),
        ConditionalCheckFailed => ("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", 400),
        ResourceNotFound => ("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", 400),
        ResourceInUse => ("com.amazonaws.dynamodb.v20120810#ResourceInUseException", 400),
        LimitExceeded => ("com.amazonaws.dynamodb.v20120810#LimitExceededException", 400),
        ItemCollectionSizeLimitExceeded => (
            "com.amazonaws.dynamodb.v20120810#ItemCollectionSizeLimitExceededException",
            400,
        ),
        ProvisionedThroughputExceeded => (
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            400,
        ),
        RequestLimitExceeded => ("com.amazonaws.dynamodb.v20120810#RequestLimitExceeded", 400),
        TransactionCanceled => ("com.amazonaws.dynamodb.v20120810#TransactionCanceledException", 400),
        TransactionConflict => ("com.amazonaws.dynamodb.v20120810#TransactionConflictException", 400),
        TransactionInProgress => ("com.amazonaws.dynamodb.v20120810#TransactionInProgressException", 400),
        IdempotentParameterMismatch => (
            "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            400,
        ),
        InternalServerError => ("com.amazonaws.dynamodb.v20120810#InternalServerError", 500),
        ServiceUnavailable => ("com.amazonaws.dynamodb.v20120810#ServiceUnavailableException", 503),
    }
}

/// The JSON body of an error response.
pub fn body(e: &Error) -> Value {
    let (type_name, _) = wire(e.kind);
    let mut body = json!({ "__type": type_name });
    // Some errors carry no message at all (the service sends none for these).
    let silent =
        matches!(e.kind, ErrorKind::UnknownOperation) || (e.kind == ErrorKind::Serialization && e.message.is_empty());
    if !silent {
        // These services spell the member with a capital M.
        let key = match e.kind {
            ErrorKind::TransactionCanceled
            | ErrorKind::TransactionInProgress
            | ErrorKind::IdempotentParameterMismatch
            | ErrorKind::Serialization
            | ErrorKind::AccessDenied => "Message",
            _ => "message",
        };
        body[key] = Value::String(e.message.clone());
    }
    if let Some(item) = &e.item {
        body["Item"] = item_to_json(item);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_a_namespaced_type() {
        for kind in ErrorKind::ALL {
            let (t, status) = wire(*kind);
            assert!(t.contains('#'), "{kind:?}");
            assert!(matches!(status, 400 | 500 | 503), "{kind:?}");
        }
        assert_eq!(wire(ErrorKind::InternalServerError).1, 500);
        assert_eq!(wire(ErrorKind::ServiceUnavailable).1, 503);
    }

    #[test]
    fn bodies_use_the_services_member_names() {
        let e = Error::validation("bad");
        assert_eq!(
            body(&e),
            json!({"__type": "com.amazon.coral.validate#ValidationException", "message": "bad"})
        );
        let e = Error::serialization("");
        assert_eq!(
            body(&e),
            json!({"__type": "com.amazon.coral.service#SerializationException"})
        );
        let e = Error::new(ErrorKind::TransactionCanceled, "x");
        assert_eq!(body(&e)["Message"], "x");
    }
}
