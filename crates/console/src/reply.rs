//! The managed service's response envelope: `{"code":200,"message":"success","result":{"data":…}}`
//! on success, the same shape with the HTTP status as `code` and the reason as `message` on
//! failure (`result` is then `{}`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// The envelope every answer has (for the OpenAPI document).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope {
    /// 200 on success, else the HTTP status.
    pub code: u16,
    /// "success", or why not.
    pub message: String,
    /// `{"data": …}`, `{"total": N, "rows": […]}` or `{}`.
    #[schema(value_type = Object)]
    pub result: Value,
}

/// The answers of the management endpoints (for the OpenAPI document).
#[derive(utoipa::IntoResponses)]
pub enum Answers {
    /// The envelope; see docs/console.md.
    #[response(status = 200)]
    Ok(Envelope),
    /// A bad parameter or body, named in `message`.
    #[response(status = 400)]
    BadRequest(Envelope),
    /// `accessKey`/`secretKey` missing or wrong.
    #[response(status = 401)]
    Unauthorized(Envelope),
    /// An unknown cluster, topic or group.
    #[response(status = 404)]
    NotFound(Envelope),
}

/// What every handler returns.
pub type Reply = Result<Response, ApiError>;

/// `result.data` = `data`.
pub fn data(data: impl Serialize) -> Reply {
    let data = serde_json::to_value(data).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(envelope(StatusCode::OK, "success", json!({ "data": data })))
}

/// `result` = `{}` (what the document shows for creations and changes).
pub fn done() -> Reply {
    Ok(envelope(StatusCode::OK, "success", json!({})))
}

/// `result` = `value` itself (the 24 h series put `total` and `rows` there).
pub fn result(value: impl Serialize) -> Reply {
    let value = serde_json::to_value(value).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(envelope(StatusCode::OK, "success", value))
}

fn envelope(status: StatusCode, message: &str, result: Value) -> Response {
    let body = json!({ "code": status.as_u16(), "message": message, "result": result });
    (status, Json(body)).into_response()
}

/// A refusal: its HTTP status and a sentence saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub fn too_many(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    /// The cluster refused or could not be reached: 502 with the client's sentence.
    pub fn cluster(error: &apogee_client::ClientError) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        envelope(self.status, &self.message, json!({}))
    }
}

impl From<apogee_client::ClientError> for ApiError {
    fn from(e: apogee_client::ClientError) -> Self {
        Self::cluster(&e)
    }
}
