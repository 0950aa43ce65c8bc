//! The daemon's local API: how the CLI reaches a running daemon (sled lets one
//! process open a store at a time), how `redline tail` follows alerts live, and
//! where Prometheus scrapes `/metrics`.
//!
//! It listens on a unix socket in the data directory by default (mode 0600), or on
//! a loopback TCP address with a bearer token; never on a public interface unless
//! configured so. Routes: `POST /v1/cli` runs a store command for the CLI (its
//! arguments in, its output back), `GET /v1/tail` streams alerts as JSON lines,
//! `GET /metrics`, `/healthz` and `/readyz` (503 while the store cannot be
//! written).

mod client;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::topology::DaemonHandles;

pub use client::{ApiClient, ClientError};

/// Runs a store command for a client: its arguments and whether to colour, to
/// what it printed and its error, if it failed.
pub type CommandRunner =
    Arc<dyn Fn(Vec<String>, bool) -> BoxFuture<'static, (Vec<u8>, Option<String>)> + Send + Sync>;

/// Where the API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix(PathBuf),
    Tcp(SocketAddr),
    Off,
}

impl Listen {
    /// Reads `api.listen`: "unix" (the socket in `data_dir`), "unix:PATH",
    /// "HOST:PORT" (loopback unless `allow_public`), or "off".
    pub fn parse(text: &str, data_dir: &Path) -> Result<Listen, String> {
        match text {
            "off" => Ok(Listen::Off),
            "unix" => Ok(Listen::Unix(data_dir.join("redline.sock"))),
            _ => match text.strip_prefix("unix:") {
                Some(path) => Ok(Listen::Unix(PathBuf::from(path))),
                None => text.parse::<SocketAddr>().map(Listen::Tcp).map_err(|_| {
                    format!("{text:?} is not \"unix\", \"unix:PATH\", \"HOST:PORT\" or \"off\"")
                }),
            },
        }
    }
}

/// The request body of `POST /v1/cli`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CliRequest {
    pub args: Vec<String>,
    #[serde(default)]
    pub color: bool,
}

/// The response body of `POST /v1/cli`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CliResponse {
    pub output: String,
    pub error: Option<String>,
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot listen on {what}: {source}")]
    Bind {
        what: String,
        source: std::io::Error,
    },
}

#[derive(Clone)]
struct ApiState {
    handles: DaemonHandles,
    runner: CommandRunner,
    token: Option<String>,
    /// Ends live streams when the daemon stops.
    stop: CancellationToken,
}

/// Serves the API on `listen` until `stop`.
pub async fn serve(
    listen: Listen,
    handles: DaemonHandles,
    runner: CommandRunner,
    token: Option<String>,
    stop: CancellationToken,
) -> Result<(), ApiError> {
    let state = ApiState {
        handles,
        runner,
        token,
        stop: stop.clone(),
    };
    let guarded = Router::new()
        .route("/v1/cli", post(cli))
        .route("/v1/tail", get(tail))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .merge(guarded)
        .with_state(state);
    let shutdown = async move { stop.cancelled().await };
    match listen {
        Listen::Off => Ok(()),
        Listen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ApiError::Bind {
                    what: addr.to_string(),
                    source,
                })?;
            tracing::info!(%addr, "API listening");
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
            Ok(())
        }
        Listen::Unix(path) => {
            let listener = bind_unix(&path)?;
            tracing::info!(socket = %path.display(), "API listening");
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
            let _ = std::fs::remove_file(&path);
            Ok(())
        }
    }
}

/// Ready unless the store cannot be written (a full disk): the daemon then
/// polls and fetches nothing until it can again.
async fn ready(State(state): State<ApiState>) -> Response {
    match state.handles.store.write_gate() {
        Some(gate) if !gate.is_open() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the store cannot be written; paused until it can\n",
        )
            .into_response(),
        _ => "ready\n".into_response(),
    }
}

/// Binds a unix socket readable by its owner only, replacing a stale one.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, ApiError> {
    let bind_error = |source| ApiError::Bind {
        what: path.display().to_string(),
        source,
    };
    if path.exists() {
        // The store lock guarantees no other daemon uses this directory, so a
        // socket left here is stale.
        std::fs::remove_file(path).map_err(bind_error)?;
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(bind_error)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_error)?;
    Ok(listener)
}

async fn require_token(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(token.as_str()) {
        next.run(request).await
    } else {
        (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response()
    }
}

async fn cli(
    State(state): State<ApiState>,
    axum::Json(request): axum::Json<CliRequest>,
) -> Response {
    let (output, error) = (state.runner)(request.args, request.color).await;
    let response = CliResponse {
        output: String::from_utf8_lossy(&output).into_owned(),
        error,
    };
    axum::Json(response).into_response()
}

/// Alerts as they are queued, one JSON object per line, until the client leaves.
async fn tail(State(state): State<ApiState>) -> Response {
    let stop = state.stop.clone();
    let alerts = tokio_stream::wrappers::BroadcastStream::new(state.handles.tail.subscribe())
        .take_until(async move { stop.cancelled().await });
    let lines = alerts.filter_map(|item| async move {
        let alert = item.ok()?;
        let line = crate::alerts::json_line(&alert);
        Some(Ok::<_, std::convert::Infallible>(line))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(lines))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn metrics(State(state): State<ApiState>) -> Response {
    for slot in &state.handles.sinks {
        let label = crate::metrics::SinkLabel {
            sink: slot.name().to_string(),
        };
        state
            .handles
            .metrics
            .outbox_depth
            .get_or_create(&label)
            .set(slot.queued() as i64);
    }
    let body = state.handles.metrics.encode();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_parse() {
        let dir = Path::new("/var/lib/redline");
        assert_eq!(
            Listen::parse("unix", dir),
            Ok(Listen::Unix(dir.join("redline.sock")))
        );
        assert_eq!(
            Listen::parse("unix:/run/r.sock", dir),
            Ok(Listen::Unix("/run/r.sock".into()))
        );
        assert_eq!(
            Listen::parse("127.0.0.1:7878", dir),
            Ok(Listen::Tcp("127.0.0.1:7878".parse().unwrap()))
        );
        assert_eq!(Listen::parse("off", dir), Ok(Listen::Off));
        assert!(Listen::parse("everywhere", dir).is_err());
    }
}
