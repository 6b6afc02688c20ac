//! `agar view`: the review web UI (crate agar-web) over a store, on
//! 127.0.0.1:8700 unless told otherwise, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;

use crate::exit::Failure;
use crate::show::open_store;

pub(crate) const VIEW_HELP: &str = "Examples:
  agar view
  agar view --store nightly-transcripts --port 9000
  agar view --port 0            # any free port; the URL is printed

Open the printed URL in a browser. The viewer reads the store on every
request, so runs still going in other agar processes appear and update as
they go. It listens on 127.0.0.1 only, unless --host says otherwise. Off loopback
it lets in only requests naming a host given with --allow-host, or, without
--allow-host, requests carrying the random access token in the printed URL
(kept in a cookie after the first visit), so a web page elsewhere cannot
read transcripts or record labels through DNS rebinding:
  agar view --host 0.0.0.0 --allow-host review.example.lan
  agar view --host 0.0.0.0      # prints http://ADDR/?token=...";

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// Address to listen on (an IP address, or `localhost`)
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub(crate) host: String,
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 8700, value_name = "PORT")]
    pub(crate) port: u16,
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
    /// A host name (or name:port) requests may address the viewer by, for a
    /// non-loopback --host (repeatable); without it, an access token is required
    #[arg(long = "allow-host", value_name = "NAME")]
    pub(crate) allow_host: Vec<String>,
}

fn parse_host(host: &str) -> Result<IpAddr, Failure> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
        Failure::Input(format!(
            "--host {host:?} is not an IP address (for example 127.0.0.1, ::1 or 0.0.0.0)"
        ))
    })
}

pub(crate) async fn run(args: &ViewArgs) -> crate::Outcome {
    let host = parse_host(&args.host)?;
    let store = open_store(&args.store)?;
    let options = agar_web::ViewOptions { host, port: args.port };
    let listener = agar_web::bind(options).await.map_err(|e| {
        let addr = SocketAddr::new(host, args.port);
        Failure::Input(format!(
            "cannot listen on {addr}: {e} (choose another --port, or --port 0 for any free one)"
        ))
    })?;
    let addr = listener.local_addr().map_err(Failure::run)?;
    if let Some(warning) = agar_web::bind_warning(addr) {
        eprintln!("{warning}");
    }
    let access = if args.allow_host.is_empty() {
        agar_web::Access::new_token()
    } else {
        agar_web::Access::hosts(&args.allow_host, addr.port())
    };
    let url = match &access {
        agar_web::Access::Token(token) if !addr.ip().is_loopback() => {
            format!("http://{addr}/?token={token}")
        }
        _ => format!("http://{addr}/"),
    };
    println!("agar view: {url} (store {}; Ctrl-C to stop)", args.store.display());
    let shutdown = crate::signals::stop_requested();
    agar_web::serve_with(listener, store, access, shutdown)
        .await
        .map_err(|e| Failure::Run(format!("the viewer stopped: {e}")))
}
