//! `palisade serve` options for running behind reverse proxies.

use anyhow::{anyhow, Result};
use clap::Args;
use palisade_web::client_ip::{ForwardedHeader, TrustedProxies};

#[derive(Debug, Args, Default)]
pub struct ProxyArgs {
    /// A reverse proxy (CIDR or address, repeatable) whose forwarding header
    /// gives the client's address for throttling and the audit log. Without
    /// it, X-Forwarded-For and Forwarded are ignored.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxy: Vec<String>,
    /// The header the trusted proxies write: x-forwarded-for or forwarded (RFC 7239).
    #[arg(
        long,
        value_name = "HEADER",
        default_value = "x-forwarded-for",
        value_parser = parse_header,
        requires = "trusted_proxy"
    )]
    pub forwarded_header: ForwardedHeader,
}

fn parse_header(text: &str) -> Result<ForwardedHeader, String> {
    text.parse()
}

/// The trusted proxies, checked.
pub fn configure(args: &ProxyArgs) -> Result<TrustedProxies> {
    TrustedProxies::parse(&args.trusted_proxy, args.forwarded_header).map_err(|e| anyhow!(e))
}
