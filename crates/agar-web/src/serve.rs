//! Serving: bind the address (127.0.0.1 unless told otherwise), warn when it
//! is not a loopback address, restrict the `Host` header on loopback (so a
//! web page elsewhere cannot reach the viewer through DNS rebinding), and
//! serve until the shutdown future resolves.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use agar_store::Store;
use tokio::net::TcpListener;

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

/// The warning to print when the viewer is reachable from other machines.
pub fn bind_warning(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "warning: the viewer listens on {addr}, not a loopback address: anyone who can \
             reach this machine can read the transcripts and record labels"
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

/// Serves the viewer over `store` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let state = if addr.ip().is_loopback() {
        AppState::with_allowed_hosts(store, loopback_hosts(addr.port()))
    } else {
        AppState::new(store)
    };
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
