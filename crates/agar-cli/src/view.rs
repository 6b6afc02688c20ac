//! `agar view`: the review web UI (crate agar-web) over a store, on
//! 127.0.0.1:8700 unless told otherwise, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

use crate::exit::Failure;
use crate::show::open_store;

pub(crate) const VIEW_HELP: &str = "Examples:
  agar view
  agar view --store nightly-transcripts --port 9000
  agar view --port 0            # any free port; the URL is printed

Open the printed URL in a browser. The viewer reads the store on every
request, so runs still going in other agar processes appear and update as
they go. It listens on 127.0.0.1 only, unless --host says otherwise (then it
warns: anyone who can reach the address can read the transcripts).";

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// Address to listen on (an IP address, or `localhost`)
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub(crate) host: String,
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 8700, value_name = "PORT")]
    pub(crate) port: u16,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
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
    let addr = listener.local_addr().map_err(|e| Failure::Run(e.to_string()))?;
    if let Some(warning) = agar_web::bind_warning(addr) {
        eprintln!("{warning}");
    }
    println!("agar view: http://{addr}/ (store {}; Ctrl-C to stop)", args.store.display());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    agar_web::serve(listener, store, shutdown)
        .await
        .map_err(|e| Failure::Run(format!("the viewer stopped: {e}")))
}
