//! A minimal HTTP/1.1 server for `POST /api/<project>/envelope/`: keep-alive,
//! `Content-Length` bodies.
use crate::{parse_envelope, Envelope, Mode, Shared};
use std::net::TcpListener as StdListener;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves until the process ends (the test binary exits).
pub(crate) fn serve(listener: StdListener, shared: Arc<Shared>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("ingest runtime");
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).expect("tokio listener");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                if let Err(error) = connection(stream, &shared).await {
                    let mut state = shared.lock();
                    state.errors.push(error);
                    shared.changed.notify_all();
                }
            });
        }
    });
}

async fn connection(mut stream: TcpStream, shared: &Shared) -> Result<(), String> {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer).await? else {
            return Ok(());
        };
        let envelope = parse_envelope(&request.body);
        let arrived = std::time::Instant::now();
        let mut mode = *shared.mode.borrow();
        let index = {
            let mut state = shared.lock();
            state.requests.push(crate::Request {
                at: arrived,
                mode,
                check_ins: envelope.as_ref().map(check_ins).unwrap_or_default(),
                events: envelope.as_ref().map_or(0, |e| items(e, "event")),
                abandoned_after: None,
            });
            shared.changed.notify_all();
            state.requests.len() - 1
        };
        if let Mode::Hold(only) = mode {
            let held = only.is_none_or(|ty| envelope.as_ref().is_ok_and(|e| items(e, ty) > 0));
            mode = Mode::Accept;
            if held {
                match unanswered(&mut stream, &mut buffer, shared, index, |m| {
                    m == Mode::Hold(only)
                })
                .await
                {
                    Unanswered::Released => {}
                    Unanswered::ModeChanged(Mode::Hold(_)) => {}
                    Unanswered::ModeChanged(new) => mode = new,
                    Unanswered::ClientClosed => {
                        abandoned(shared, index, arrived);
                        return Ok(());
                    }
                }
            }
        }
        if mode == Mode::Hang {
            // Closed unanswered once the mode changes (or never).
            if unanswered(&mut stream, &mut buffer, shared, index, |m| m == Mode::Hang).await
                == Unanswered::ClientClosed
            {
                abandoned(shared, index, arrived);
            }
            return Ok(());
        }
        {
            let mut state = shared.lock();
            if request.path.starts_with("/api/0/") && !request.path.ends_with("/envelope/") {
                // A call of Sentry's web API (muting a monitor): recorded as it came.
                state.api_calls.push(crate::ApiCall {
                    method: request.method.clone(),
                    path: request.path.clone(),
                    authorization: request.authorization.clone(),
                    content_type: request.content_type.clone(),
                    body: serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null),
                });
            } else if !request.path.ends_with("/envelope/") || request.method != "POST" {
                state
                    .errors
                    .push(format!("unexpected {} {}", request.method, request.path));
            } else if let Some(encoding) = &request.content_encoding {
                state
                    .errors
                    .push(format!("unsupported Content-Encoding {encoding}"));
            } else if mode == Mode::Accept {
                match envelope {
                    Ok(envelope) => state.envelopes.push(envelope),
                    Err(error) => state.errors.push(error),
                }
            }
            shared.changed.notify_all();
        }
        let mut headers = String::new();
        let status = match mode {
            Mode::Status(status) => status,
            Mode::RateLimited {
                retry_after,
                rate_limits,
            } => {
                if let Some(value) = retry_after {
                    headers.push_str(&format!("Retry-After: {value}\r\n"));
                }
                if let Some(value) = rate_limits {
                    headers.push_str(&format!("X-Sentry-Rate-Limits: {value}\r\n"));
                }
                429
            }
            _ => 200,
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{headers}Content-Length: 2\r\n\r\n{{}}"
        );
        stream
            .write_all(response.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
    }
}

/// How many items of type `ty` `envelope` has.
fn items(envelope: &Envelope, ty: &str) -> usize {
    envelope.items.iter().filter(|i| i.ty == ty).count()
}

/// The check-ins of `envelope`.
fn check_ins(envelope: &Envelope) -> Vec<crate::CheckInSeen> {
    envelope
        .items
        .iter()
        .filter(|i| i.ty == "check_in")
        .filter_map(|i| i.json().ok())
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap_or_default().to_owned();
            crate::CheckInSeen {
                monitor_slug: text("monitor_slug"),
                status: text("status"),
                check_in_id: text("check_in_id"),
            }
        })
        .collect()
}

/// Records that the client closed the connection of request `index` unanswered.
fn abandoned(shared: &Shared, index: usize, arrived: std::time::Instant) {
    let mut state = shared.lock();
    state.requests[index].abandoned_after = Some(arrived.elapsed());
    shared.changed.notify_all();
}

/// How a request left unanswered ended.
#[derive(Debug, PartialEq, Eq)]
enum Unanswered {
    /// [`Ingest::release`](crate::Ingest::release) answered it.
    Released,
    /// The mode changed to one `still` does not hold for.
    ModeChanged(Mode),
    /// The client closed the connection.
    ClientClosed,
}

/// Leaves request `index` unanswered while the mode is one `still` holds for, until it is
/// released or the client closes the connection.
async fn unanswered(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    shared: &Shared,
    index: usize,
    still: impl Fn(Mode) -> bool,
) -> Unanswered {
    // Subscribed before the checks: a change after them wakes the select below.
    let mut modes = shared.mode.subscribe();
    let mut releases = shared.releases.subscribe();
    loop {
        if shared.lock().released.contains(&index) {
            return Unanswered::Released;
        }
        let mode = *modes.borrow_and_update();
        if !still(mode) {
            return Unanswered::ModeChanged(mode);
        }
        let mut chunk = [0_u8; 1024];
        tokio::select! {
            _ = modes.changed() => {}
            _ = releases.changed() => {}
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return Unanswered::ClientClosed,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            },
        }
    }
}

struct Request {
    method: String,
    path: String,
    content_encoding: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Reads one request; `None` when the peer closed the connection between requests.
async fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<Option<Request>, String> {
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if read_more(stream, buffer).await? == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside a request head".into())
            };
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let mut length = None;
    let mut content_encoding = None;
    let mut authorization = None;
    let mut content_type = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = Some(value.parse::<usize>().map_err(|e| e.to_string())?),
            "content-encoding" if value != "identity" => content_encoding = Some(value.to_owned()),
            "authorization" => authorization = Some(value.to_owned()),
            "content-type" => content_type = Some(value.to_owned()),
            "transfer-encoding" => return Err(format!("unsupported Transfer-Encoding {value}")),
            _ => {}
        }
    }
    let length = length.ok_or("request without Content-Length")?;
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        if read_more(stream, buffer).await? == 0 {
            return Err("connection closed inside a request body".into());
        }
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Ok(Some(Request {
        method,
        path,
        content_encoding,
        authorization,
        content_type,
        body,
    }))
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<usize, String> {
    let mut chunk = [0_u8; 16 * 1024];
    let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n)
}
