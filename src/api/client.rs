//! The client side of the local API, used by the CLI.

use futures_util::StreamExt;

use super::{CliRequest, CliResponse, Listen};

/// Why the daemon could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon answers at the address (none runs, or the socket is stale).
    #[error("no daemon answers at {0}")]
    Unreachable(String),
    #[error("the daemon's API failed: {0}")]
    Api(String),
    /// The command failed in the daemon, after printing `output`.
    #[error("the daemon could not run the command: {error}")]
    Command { output: String, error: String },
}

/// A connection to a running daemon's API.
pub struct ApiClient {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    name: String,
}

impl ApiClient {
    /// A client for `listen`; `None` when the API is off or no socket exists.
    pub fn new(listen: &Listen, token: Option<String>) -> Option<ApiClient> {
        let builder = reqwest::Client::builder().no_proxy();
        let (builder, base, name) = match listen {
            Listen::Off => return None,
            Listen::Unix(path) if !path.exists() => return None,
            Listen::Unix(path) => (
                builder.unix_socket(path.as_path()),
                "http://localhost".to_string(),
                path.display().to_string(),
            ),
            Listen::Tcp(addr) => (builder, format!("http://{addr}"), addr.to_string()),
        };
        let client = builder.build().ok()?;
        Some(ApiClient {
            client,
            base,
            token,
            name,
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.post(format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn unreachable_or_api(&self, error: reqwest::Error) -> ClientError {
        if error.is_connect() {
            ClientError::Unreachable(self.name.clone())
        } else {
            ClientError::Api(error.to_string())
        }
    }

    /// Runs a store command in the daemon; returns what it printed.
    pub async fn run(&self, args: Vec<String>, color: bool) -> Result<String, ClientError> {
        let body = serde_json::to_vec(&CliRequest { args, color })
            .map_err(|e| ClientError::Api(e.to_string()))?;
        let response = self
            .post("/v1/cli")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable_or_api(e))?;
        if !response.status().is_success() {
            return Err(ClientError::Api(format!("HTTP {}", response.status())));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Api(e.to_string()))?;
        let answer: CliResponse =
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Api(e.to_string()))?;
        match answer.error {
            Some(error) => Err(ClientError::Command {
                output: answer.output,
                error,
            }),
            None => Ok(answer.output),
        }
    }

    /// Follows alerts live; calls `each` with every JSON line until the daemon stops.
    pub async fn tail(&self, mut each: impl FnMut(&str)) -> Result<(), ClientError> {
        let mut request = self.client.get(format!("{}/v1/tail", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.unreachable_or_api(e))?;
        if !response.status().is_success() {
            return Err(ClientError::Api(format!("HTTP {}", response.status())));
        }
        let mut stream = response.bytes_stream();
        let mut pending = Vec::new();
        while let Some(chunk) = stream.next().await {
            pending.extend_from_slice(&chunk.map_err(|e| ClientError::Api(e.to_string()))?);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                each(String::from_utf8_lossy(&line).trim_end());
            }
        }
        Ok(())
    }
}
