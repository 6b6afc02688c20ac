//! Serving: bind the address (127.0.0.1 unless told otherwise), warn when it
//! is not a loopback address, restrict the `Host` header on loopback (so a
//! web page elsewhere cannot reach the viewer through DNS rebinding) and
//! require allowed host names or an access token elsewhere ([`Access`]), and
//! serve until the shutdown future resolves.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use agar_store::Store;
use tokio::net::TcpListener;

use crate::access::Access;
use crate::app::{AppState, app};

/// Where `agar view` listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOptions {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions { host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 8700 }
    }
}

/// The warning to print when the viewer is reachable from other machines:
/// what is exposed, and to whom.
pub fn bind_warning(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "warning: the viewer listens on {addr}, not a loopback address: whoever can reach \
             this machine and passes its check (an allowed host name or the access token) can \
             read every run in the store (transcripts with the models' full conversations, \
             system prompts, tool calls and verdicts) and record reviewer labels"
        )
    })
}

/// Binds the listener.
pub async fn bind(options: ViewOptions) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(options.host, options.port)).await
}

/// The `Host` header values a loopback-bound viewer answers to.
fn loopback_hosts(port: u16) -> Vec<String> {
    let mut hosts: Vec<String> =
        ["127.0.0.1", "localhost", "[::1]"].iter().map(|h| format!("{h}:{port}")).collect();
    if port == 80 {
        hosts.extend(["127.0.0.1", "localhost", "[::1]"].iter().map(|h| h.to_string()));
    }
    hosts
}

/// Serves the viewer over `store` on `listener` until `shutdown` resolves:
/// on loopback, answering only to loopback host names; elsewhere, only with
/// a fresh access token nobody was told (use [`serve_with`] to choose).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, store, Access::new_token(), shutdown).await
}

/// [`serve`] with the access rule for a non-loopback address. On loopback
/// the loopback host names are required (with any names `off_loopback`
/// allows explicitly).
pub async fn serve_with(
    listener: TcpListener,
    store: Store,
    off_loopback: Access,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let access = match off_loopback {
        _ if !addr.ip().is_loopback() => off_loopback,
        // Names allowed explicitly (a local reverse proxy's) are kept.
        Access::Hosts(mut extra) => {
            extra.extend(loopback_hosts(addr.port()));
            Access::Hosts(extra)
        }
        _ => Access::Hosts(loopback_hosts(addr.port())),
    };
    let state = AppState::with_access(store, access);
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_loopback_addresses_warn() {
        let at = |s: &str| s.parse::<SocketAddr>().ok();
        assert!(at("127.0.0.1:8700").and_then(bind_warning).is_none());
        assert!(at("[::1]:8700").and_then(bind_warning).is_none());
        let w = at("0.0.0.0:8700").and_then(bind_warning).unwrap_or_default();
        assert!(w.contains("0.0.0.0:8700") && w.starts_with("warning:"), "{w}");
        assert!(loopback_hosts(8700).contains(&"localhost:8700".to_string()));
    }
}
