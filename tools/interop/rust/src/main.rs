//! interop-rust: a rust-libp2p test counterpart for natkit's lab (never shipped).
//!
//!     interop-rust listen --relay <relay multiaddr> [--listen MA] [--seed S]
//!     interop-rust dial <relay>/p2p-circuit/p2p/<peer> [--listen MA] [--seed S] [--timeout SECONDS]
//!
//! TCP (dials reuse the listen port), noise, yamux, identify, ping, circuit relay
//! v2 client and DCUtR. One JSON event per line on stdout in natkit's event
//! schema (ts, event, peerId, ...); diagnostics go to stderr. `dial` exits 0
//! direct, 3 relayed only, 1 not connected; `listen` runs until SIGTERM/SIGINT
//! and exits 0. Bad arguments exit 2.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use libp2p::{
    core::ConnectedPoint,
    dcutr, identify, identity, noise, ping, relay,
    multiaddr::Protocol,
    swarm::{ConnectionId, NetworkBehaviour, SwarmEvent},
    tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder,
};
use serde_json::{json, Map, Value};
use tokio::signal::unix::{signal, SignalKind};

/// The lab's peer port (natkit's PEER_PORT).
const DEFAULT_LISTEN: &str = "/ip4/0.0.0.0/tcp/4100";
/// Bound on `dial` reaching a direct connection.
const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on connecting to and being identified by the relay.
const RELAY_TIMEOUT: Duration = Duration::from_secs(15);
/// Ping interval on every connection (short, so both paths get an RTT quickly).
const PING_INTERVAL: Duration = Duration::from_secs(1);
/// Pause before dialling the relay again after a failed dial.
const RELAY_REDIAL_DELAY: Duration = Duration::from_millis(500);
/// Connections stay open this long without streams.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(NetworkBehaviour)]
struct Behaviour {
    relay_client: relay::client::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    dcutr: dcutr::Behaviour,
}

struct Opts {
    mode: String,
    target: Option<Multiaddr>,
    relay: Option<Multiaddr>,
    listen: Multiaddr,
    seed: Option<String>,
    timeout: Duration,
}

fn usage_error(msg: &str) -> ! {
    eprintln!("interop-rust: {msg}");
    std::process::exit(2)
}

fn parse_ma(what: &str, s: &str) -> Multiaddr {
    s.parse().unwrap_or_else(|e| usage_error(&format!("invalid {what} {s:?}: {e}")))
}

fn parse_args() -> Opts {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| usage_error("usage: interop-rust listen --relay MA | dial <circuit multiaddr> [--listen MA] [--seed S] [--timeout SECONDS]"));
    let mut o = Opts { mode: mode.clone(), target: None, relay: None, listen: parse_ma("--listen", DEFAULT_LISTEN), seed: None, timeout: DEFAULT_DIAL_TIMEOUT };
    let rest: Vec<String> = args.collect();
    let mut i = 0;
    if mode == "dial" {
        match rest.first() {
            Some(t) if !t.starts_with('-') => {
                if !t.contains("/p2p-circuit/") {
                    usage_error(&format!("target {t:?} is not a circuit address (<relay>/p2p-circuit/p2p/<peer>)"))
                }
                o.target = Some(parse_ma("target", t));
                i = 1;
            }
            _ => usage_error("dial needs a target: <relay multiaddr>/p2p-circuit/p2p/<peer id>"),
        }
    } else if mode != "listen" {
        usage_error(&format!("unknown mode {mode:?}: use listen or dial"))
    }
    while i < rest.len() {
        let flag = rest[i].as_str();
        if flag == "--json" {
            i += 1;
            continue;
        }
        let value = rest.get(i + 1).unwrap_or_else(|| usage_error(&format!("{flag} needs a value")));
        match flag {
            "--relay" => o.relay = Some(parse_ma("--relay", value)),
            "--listen" => o.listen = parse_ma("--listen", value),
            "--seed" => o.seed = Some(value.clone()),
            "--timeout" => {
                let secs: f64 = value.trim_end_matches('s').parse().unwrap_or_else(|_| usage_error(&format!("invalid --timeout {value:?} (seconds)")));
                o.timeout = Duration::from_secs_f64(secs);
            }
            _ => usage_error(&format!("unknown option {flag:?}")),
        }
        i += 2;
    }
    if mode == "listen" && o.relay.is_none() {
        usage_error("listen needs --relay <relay multiaddr with /p2p/>")
    }
    o
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for the current time (UTC).
fn now_iso() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", sod / 3600, sod % 3600 / 60, sod % 60, d.subsec_millis())
}

fn emit(self_id: &PeerId, event: &str, fields: Value) {
    let mut m = Map::new();
    m.insert("ts".into(), json!(now_iso()));
    m.insert("event".into(), json!(event));
    m.insert("peerId".into(), json!(self_id.to_string()));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    println!("{}", Value::Object(m));
}

/// A deterministic test identity from a seed string (random without one).
fn keypair(seed: &Option<String>) -> identity::Keypair {
    match seed {
        None => identity::Keypair::generate_ed25519(),
        Some(s) => {
            // FNV-1a spread over 32 bytes: fine for a lab test identity, not for real keys
            let mut bytes = [0u8; 32];
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for (i, b) in bytes.iter_mut().enumerate() {
                for c in format!("interop-rust:{s}:{i}").bytes() {
                    h = (h ^ c as u64).wrapping_mul(0x100_0000_01b3);
                }
                *b = (h >> 24) as u8;
            }
            identity::Keypair::ed25519_from_bytes(bytes).expect("32 bytes")
        }
    }
}

fn build_swarm(key: identity::Keypair) -> Result<Swarm<Behaviour>, Box<dyn std::error::Error>> {
    Ok(SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
        .with_relay_client(noise::Config::new, yamux::Config::default)?
        .with_behaviour(|key, relay_client| Behaviour {
            relay_client,
            identify: identify::Behaviour::new(identify::Config::new("/ipfs/id/1.0.0".into(), key.public()).with_agent_version("natkit-interop-rust".into())),
            ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_INTERVAL)),
            dcutr: dcutr::Behaviour::new(key.public().to_peer_id()),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build())
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(p)) => Some(p),
        _ => None,
    }
}

/// Prints the final `dial:result` and exits 0 direct, 3 relayed, 1 failed.
fn finish(me: &PeerId, target: &Option<Multiaddr>, outcome: &str, fields: Value) -> ! {
    let mut m = json!({ "target": target.as_ref().map(|t| t.to_string()), "outcome": outcome });
    if let (Value::Object(m), Value::Object(f)) = (&mut m, fields) {
        m.extend(f);
    }
    emit(me, "dial:result", m);
    std::process::exit(match outcome { "direct" => 0, "relayed" => 3, _ => 1 })
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

#[tokio::main]
async fn main() {
    let o = parse_args();
    let mut swarm = match build_swarm(keypair(&o.seed)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("interop-rust: cannot start: {e}");
            std::process::exit(1)
        }
    };
    let me = *swarm.local_peer_id();
    if let Err(e) = swarm.listen_on(o.listen.clone()) {
        eprintln!("interop-rust: cannot listen on {}: {e}", o.listen);
        std::process::exit(1)
    }
    // the relay: --relay in listen mode, the part before /p2p-circuit in dial mode
    let relay_addr: Multiaddr = match (&o.target, &o.relay) {
        (Some(t), _) => t.iter().take_while(|p| !matches!(p, Protocol::P2pCircuit)).collect(),
        (None, Some(r)) => r.clone(),
        _ => unreachable!(),
    };
    let relay_peer = peer_of(&relay_addr).unwrap_or_else(|| usage_error("the relay address must end in /p2p/<relay peer id>"));
    let remote = o.target.as_ref().map(|t| peer_of(t).unwrap_or_else(|| usage_error("the target must end in /p2p/<peer id>")));
    if let Err(e) = swarm.dial(relay_addr.clone()) {
        eprintln!("interop-rust: cannot dial the relay: {e}");
        std::process::exit(1)
    }

    let mut sigterm = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut sigint = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let t0 = Instant::now();
    let relay_deadline = tokio::time::sleep(RELAY_TIMEOUT);
    tokio::pin!(relay_deadline);
    let dial_deadline = tokio::time::sleep(o.timeout + RELAY_TIMEOUT);
    tokio::pin!(dial_deadline);

    let redial = tokio::time::sleep(RELAY_TIMEOUT);
    tokio::pin!(redial);
    let mut redial_pending = false;
    let mut relay_ready = false;
    let mut listen_addrs: Vec<String> = Vec::new();
    // connection id → (remote address, relayed)
    let mut conns: HashMap<ConnectionId, (Multiaddr, bool)> = HashMap::new();
    let mut relayed_at: Option<Instant> = None;
    let mut direct_at: Option<(Instant, Multiaddr)> = None;
    let mut relayed_rtt: Option<f64> = None;

    let finish = |outcome: &str, fields: Value| finish(&me, &o.target, outcome, fields);

    loop {
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = &mut relay_deadline, if !relay_ready => {
                if o.mode == "dial" {
                    finish("failed", json!({ "reason": "not identified by the relay in time" }));
                }
                emit(&me, "reservation:failed", json!({ "relay": relay_peer.to_string(), "reason": "not identified by the relay in time" }));
                eprintln!("interop-rust: not identified by the relay within {RELAY_TIMEOUT:?}");
                std::process::exit(1)
            }
            _ = &mut redial, if redial_pending => {
                redial_pending = false;
                if let Err(e) = swarm.dial(relay_addr.clone()) {
                    eprintln!("interop-rust: cannot dial the relay: {e}");
                }
            }
            _ = &mut dial_deadline, if o.mode == "dial" => {
                match relayed_at {
                    Some(t) => finish("relayed", json!({ "reason": "no direct connection within the timeout", "timeToRelayedMs": ms(t - t0), "relayedRttMs": relayed_rtt })),
                    None => finish("failed", json!({ "reason": "no relayed connection within the timeout" })),
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    if address.iter().any(|p| matches!(p, Protocol::P2pCircuit)) {
                        continue;
                    }
                    listen_addrs.push(address.to_string());
                    emit(&me, "listening", json!({ "addrs": listen_addrs }));
                }
                SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, .. } => {
                    let (addr, dir) = match &endpoint {
                        ConnectedPoint::Dialer { address, .. } => (address.clone(), "outbound"),
                        ConnectedPoint::Listener { send_back_addr, .. } => (send_back_addr.clone(), "inbound"),
                    };
                    let relayed = endpoint.is_relayed();
                    conns.insert(connection_id, (addr.clone(), relayed));
                    emit(&me, "peer:connect", json!({ "remotePeer": peer_id.to_string(), "remoteAddr": addr.to_string(), "direction": dir, "limited": relayed }));
                    if Some(peer_id) == remote {
                        if relayed && relayed_at.is_none() {
                            relayed_at = Some(Instant::now());
                        } else if !relayed && direct_at.is_none() {
                            direct_at = Some((Instant::now(), addr));
                        }
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, connection_id, .. } => {
                    let addr = conns.remove(&connection_id).map(|(a, _)| a.to_string());
                    emit(&me, "peer:disconnect", json!({ "remotePeer": peer_id.to_string(), "remoteAddr": addr }));
                }
                SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                    if peer_id == Some(relay_peer) && !relay_ready {
                        // retried until RELAY_TIMEOUT (e.g. the listen socket was not bound yet)
                        eprintln!("interop-rust: relay dial failed, retrying: {error}");
                        emit(&me, "reservation:failed", json!({ "relay": relay_peer.to_string(), "reason": error.to_string(), "retryInMs": ms(RELAY_REDIAL_DELAY) }));
                        redial.as_mut().reset(tokio::time::Instant::now() + RELAY_REDIAL_DELAY);
                        redial_pending = true;
                        continue;
                    }
                    if o.mode == "dial" && peer_id == remote && relayed_at.is_none() && error.to_string().contains("p2p-circuit") {
                        finish("failed", json!({ "reason": format!("relayed dial failed: {error}") }));
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, .. })) if peer_id == relay_peer && !relay_ready => {
                    // the relay told us our observed address (a DCUtR candidate); now use the relay
                    relay_ready = true;
                    let circuit = relay_addr.clone().with(Protocol::P2pCircuit);
                    if o.mode == "listen" {
                        if let Err(e) = swarm.listen_on(circuit) {
                            emit(&me, "reservation:failed", json!({ "relay": relay_peer.to_string(), "reason": e.to_string() }));
                            eprintln!("interop-rust: cannot listen on the relay: {e}");
                            std::process::exit(1)
                        }
                    } else if let Some(t) = &o.target {
                        if let Err(e) = swarm.dial(t.clone()) {
                            finish("failed", json!({ "reason": format!("relayed dial failed: {e}") }));
                        }
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::RelayClient(relay::client::Event::ReservationReqAccepted { relay_peer_id, .. })) => {
                    let circuit = format!("{relay_addr}/p2p-circuit/p2p/{me}");
                    // go and js relays grant one hour; rust's client renews on its own
                    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64 + 3_600_000;
                    emit(&me, "reservation", json!({ "relay": relay_peer_id.to_string(), "addrs": [circuit], "expires": expires }));
                }
                SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event { remote_peer_id, result })) => match result {
                    Ok(connection_id) => {
                        let addr = conns.get(&connection_id).map(|(a, _)| a.to_string());
                        let since = relayed_at.map(|t| ms(t.elapsed()));
                        emit(&me, "holepunch:success", json!({ "remotePeer": remote_peer_id.to_string(), "remoteAddr": addr, "ms": since }));
                    }
                    Err(e) => emit(&me, "holepunch:failure", json!({ "remotePeer": remote_peer_id.to_string(), "reason": "timeout", "message": e.to_string() })),
                },
                SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, connection, result: Ok(rtt) })) => {
                    if peer == relay_peer {
                        continue;
                    }
                    let (addr, relayed) = conns.get(&connection).cloned().unwrap_or_else(|| (Multiaddr::empty(), false));
                    let rtt_ms = rtt.as_secs_f64() * 1000.0;
                    emit(&me, "ping", json!({ "remotePeer": peer.to_string(), "rttMs": rtt_ms, "limited": relayed, "remoteAddr": addr.to_string() }));
                    if Some(peer) == remote {
                        if relayed && relayed_rtt.is_none() {
                            relayed_rtt = Some(rtt_ms);
                        }
                        if !relayed {
                            if let (Some(r), Some((d, daddr))) = (relayed_at, &direct_at) {
                                finish("direct", json!({
                                    "remoteAddr": daddr.to_string(),
                                    "timeToRelayedMs": ms(r - t0),
                                    "timeToDirectMs": ms(*d - r),
                                    "relayedRttMs": relayed_rtt,
                                    "directRttMs": rtt_ms,
                                }));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // SIGTERM/SIGINT
    if o.mode == "dial" {
        finish("failed", json!({ "reason": "interrupted" }));
    }
}
