// interop-go: a go-libp2p test counterpart for natkit's lab (never shipped).
//
//	interop-go listen --relay <relay multiaddr> [--listen MA] [--seed S]
//	interop-go dial <relay>/p2p-circuit/p2p/<peer> [--listen MA] [--seed S] [--timeout 30s]
//	interop-go relay [--listen MA] [--announce MA] [--seed S]
//
// TCP (port reuse from the listen port), noise, yamux, identify, ping, circuit
// relay v2 (client, or server in `relay` mode) and DCUtR. One JSON event per
// line on stdout in natkit's event schema (ts, event, peerId, ...); logs go to
// stderr. `dial` exits 0 direct, 3 relayed only, 1 not connected; `listen` and
// `relay` run until SIGTERM/SIGINT and exit 0. Bad arguments exit 2.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

const (
	// defaultListen is the lab's peer port (natkit's PEER_PORT).
	defaultListen = "/ip4/0.0.0.0/tcp/4100"
	// defaultDialTimeout bounds `dial` waiting for a direct connection.
	defaultDialTimeout = 30 * time.Second
	// reserveTimeout bounds one reservation request.
	reserveTimeout = 15 * time.Second
	// pingTimeout bounds one ping.
	pingTimeout = 5 * time.Second
	// maxHolePunchAttempts is go-libp2p's fixed number of DCUtR rounds.
	maxHolePunchAttempts = 3
)

var (
	outMu  sync.Mutex
	selfID string
)

// emit writes one natkit-style event line to stdout.
func emit(event string, fields map[string]any) {
	m := map[string]any{"ts": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "event": event, "peerId": selfID}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "interop-go: "+format+"\n", args...)
	os.Exit(code)
}

// keyFromSeed derives a deterministic ed25519 identity from a seed string (random without one).
func keyFromSeed(seed string) crypto.PrivKey {
	var priv crypto.PrivKey
	var err error
	if seed == "" {
		priv, _, err = crypto.GenerateEd25519Key(rand.Reader)
	} else {
		sum := sha256.Sum256([]byte("interop-go:" + seed))
		priv, _, err = crypto.GenerateEd25519Key(bytes.NewReader(sum[:]))
	}
	if err != nil {
		fail(1, "key generation failed: %v", err)
	}
	return priv
}

// isDirect: the connection is not relayed. (A relay with unlimited circuits
// gives relayed connections without Stat().Limited, so look at the address.)
func isDirect(c network.Conn) bool {
	_, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT)
	return err != nil
}

func addrStrings(addrs []ma.Multiaddr) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out
}

// hpTracer turns go-libp2p's hole punch trace events into natkit events.
type hpTracer struct {
	mu       sync.Mutex
	attempts map[peer.ID]int
	addrs    map[peer.ID][]string
	started  map[peer.ID]time.Time
	h        func() host.Host
}

func (t *hpTracer) Trace(evt *holepunch.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	remote := evt.Remote.String()
	switch e := evt.Evt.(type) {
	case *holepunch.StartHolePunchEvt:
		t.addrs[evt.Remote] = e.RemoteAddrs
		t.started[evt.Remote] = time.Now()
		t.attempts[evt.Remote] = 0
	case *holepunch.HolePunchAttemptEvt:
		t.attempts[evt.Remote] = e.Attempt
		emit("holepunch:attempt", map[string]any{"remotePeer": remote, "attempt": e.Attempt, "maxAttempts": maxHolePunchAttempts, "addrs": t.addrs[evt.Remote], "role": "initiator"})
	case *holepunch.EndHolePunchEvt:
		ms := e.EllapsedTime.Milliseconds()
		if e.Success {
			remoteAddr := ""
			for _, c := range t.h().Network().ConnsToPeer(evt.Remote) {
				if isDirect(c) {
					remoteAddr = c.RemoteMultiaddr().String()
				}
			}
			emit("holepunch:success", map[string]any{"remotePeer": remote, "remoteAddr": remoteAddr, "ms": ms, "attempt": t.attempts[evt.Remote]})
		} else {
			emit("holepunch:failure", map[string]any{"remotePeer": remote, "reason": "timeout", "message": e.Error, "attempts": t.attempts[evt.Remote], "ms": ms})
		}
	case *holepunch.ProtocolErrorEvt:
		emit("holepunch:failure", map[string]any{"remotePeer": remote, "reason": "protocol-error", "message": e.Error, "attempts": t.attempts[evt.Remote], "ms": 0})
	case *holepunch.DirectDialEvt:
		if e.Success {
			emit("info", map[string]any{"message": fmt.Sprintf("direct dial to %s succeeded in %d ms", remote, e.EllapsedTime.Milliseconds())})
		}
	}
}

// pingOnce runs one /ipfs/ping/1.0.0 round on a new stream and reports which connection carried it.
func pingOnce(ctx context.Context, h host.Host, p peer.ID, allowLimited bool) (time.Duration, network.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if allowLimited {
		ctx = network.WithAllowLimitedConn(ctx, "ping")
	}
	s, err := h.NewStream(ctx, p, ping.ID)
	if err != nil {
		return 0, nil, err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return 0, nil, err
	}
	start := time.Now()
	if _, err := s.Write(buf); err != nil {
		return 0, nil, err
	}
	back := make([]byte, 32)
	if _, err := io.ReadFull(s, back); err != nil {
		return 0, nil, err
	}
	if !bytes.Equal(buf, back) {
		return 0, nil, errors.New("ping payload mismatch")
	}
	return time.Since(start), s.Conn(), nil
}

func emitPing(p peer.ID, rtt time.Duration, c network.Conn) {
	emit("ping", map[string]any{"remotePeer": p.String(), "rttMs": float64(rtt.Microseconds()) / 1000, "limited": !isDirect(c), "remoteAddr": c.RemoteMultiaddr().String()})
}

type options struct {
	listen, relay, announce, seed string
	timeout                       time.Duration
}

func newHost(o options, relayServer bool, tracer *hpTracer) host.Host {
	opts := []libp2p.Option{
		libp2p.Identity(keyFromSeed(o.seed)),
		libp2p.ListenAddrStrings(o.listen),
		// TCP only; go-libp2p reuses the listen port for outgoing dials (SO_REUSEPORT) by default
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.Ping(true),
		libp2p.DisableMetrics(),
	}
	if o.announce != "" {
		announce := ma.StringCast(o.announce)
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return []ma.Multiaddr{announce} }))
	}
	if relayServer {
		opts = append(opts, libp2p.DisableRelay(), libp2p.ForceReachabilityPublic(), libp2p.EnableRelayService())
	} else {
		opts = append(opts, libp2p.EnableRelay(), libp2p.EnableHolePunching(holepunch.WithTracer(tracer)))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		fail(1, "cannot start: %v", err)
	}
	selfID = h.ID().String()
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			dir := "inbound"
			if c.Stat().Direction == network.DirOutbound {
				dir = "outbound"
			}
			emit("peer:connect", map[string]any{"remotePeer": c.RemotePeer().String(), "remoteAddr": c.RemoteMultiaddr().String(), "direction": dir, "limited": c.Stat().Limited, "relayed": !isDirect(c)})
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			emit("peer:disconnect", map[string]any{"remotePeer": c.RemotePeer().String(), "remoteAddr": c.RemoteMultiaddr().String()})
		},
	})
	emit("listening", map[string]any{"addrs": addrStrings(h.Addrs())})
	return h
}

func waitForSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}

func runListen(o options) int {
	if o.relay == "" {
		fail(2, "listen needs --relay <relay multiaddr with /p2p/>")
	}
	relayInfo, err := peer.AddrInfoFromString(o.relay)
	if err != nil {
		fail(2, "invalid --relay %q: %v", o.relay, err)
	}
	tracer := &hpTracer{attempts: map[peer.ID]int{}, addrs: map[peer.ID][]string{}, started: map[peer.ID]time.Time{}}
	h := newHost(o, false, tracer)
	tracer.h = func() host.Host { return h }
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reserve := func() (*client.Reservation, error) {
		rctx, rcancel := context.WithTimeout(ctx, reserveTimeout)
		defer rcancel()
		if err := h.Connect(rctx, *relayInfo); err != nil {
			return nil, err
		}
		return client.Reserve(rctx, h, *relayInfo)
	}
	go func() {
		for ctx.Err() == nil {
			res, err := reserve()
			if err != nil {
				emit("reservation:failed", map[string]any{"relay": relayInfo.ID.String(), "reason": err.Error(), "retryInMs": 2000})
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
				continue
			}
			circuit := fmt.Sprintf("%s/p2p-circuit/p2p/%s", o.relay, h.ID())
			emit("reservation", map[string]any{"relay": relayInfo.ID.String(), "addrs": []string{circuit}, "expires": res.Expiration.UnixMilli()})
			// renew well before expiry
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(res.Expiration) / 2):
			}
		}
	}()
	// answer every new direct connection with a ping so the lab sees its RTT from this side too
	sub := make(chan network.Conn, 16)
	h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if isDirect(c) && c.RemotePeer() != relayInfo.ID {
			select {
			case sub <- c:
			default:
			}
		}
	}})
	go func() {
		for c := range sub {
			go func(c network.Conn) {
				if rtt, used, err := pingOnce(ctx, h, c.RemotePeer(), false); err == nil {
					emitPing(c.RemotePeer(), rtt, used)
				}
			}(c)
		}
	}()
	waitForSignal()
	return 0
}

func runDial(o options, target string) int {
	targetMa, err := ma.NewMultiaddr(target)
	if err != nil {
		fail(2, "invalid target %q: %v", target, err)
	}
	if !strings.Contains(target, "/p2p-circuit/") {
		fail(2, "target %q is not a circuit address (<relay>/p2p-circuit/p2p/<peer>)", target)
	}
	transportAddr, last := ma.SplitLast(targetMa)
	if last == nil || last.Protocol().Code != ma.P_P2P {
		fail(2, "target %q does not end in /p2p/<peer id>", target)
	}
	remote, err := peer.Decode(last.Value())
	if err != nil {
		fail(2, "invalid peer id in target: %v", err)
	}
	tracer := &hpTracer{attempts: map[peer.ID]int{}, addrs: map[peer.ID][]string{}, started: map[peer.ID]time.Time{}}
	h := newHost(o, false, tracer)
	tracer.h = func() host.Host { return h }
	defer h.Close()

	direct := make(chan network.Conn, 4)
	h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == remote && isDirect(c) {
			select {
			case direct <- c:
			default:
			}
		}
	}})
	result := map[string]any{"target": target, "outcome": "failed"}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	go func() { <-sigs; cancel() }()

	t0 := time.Now()
	h.Peerstore().AddAddr(remote, transportAddr, peerstore.TempAddrTTL)
	if err := h.Connect(network.WithAllowLimitedConn(ctx, "dial"), peer.AddrInfo{ID: remote, Addrs: []ma.Multiaddr{transportAddr}}); err != nil {
		result["reason"] = fmt.Sprintf("relayed dial failed: %v", err)
		emit("dial:result", result)
		return 1
	}
	tRelayed := time.Now()
	result["outcome"] = "relayed"
	result["timeToRelayedMs"] = tRelayed.Sub(t0).Milliseconds()
	if rtt, c, err := pingOnce(ctx, h, remote, true); err == nil {
		emitPing(remote, rtt, c)
		if !isDirect(c) {
			result["relayedRttMs"] = float64(rtt.Microseconds()) / 1000
		}
	}
	var conn network.Conn
	for _, c := range h.Network().ConnsToPeer(remote) {
		if isDirect(c) {
			conn = c
		}
	}
	if conn == nil {
		select {
		case conn = <-direct:
		case <-ctx.Done():
		}
	}
	if conn == nil {
		result["reason"] = "no direct connection within the timeout"
		emit("dial:result", result)
		return 3
	}
	result["outcome"] = "direct"
	result["timeToDirectMs"] = time.Since(tRelayed).Milliseconds()
	result["remoteAddr"] = conn.RemoteMultiaddr().String()
	pctx, pcancel := context.WithTimeout(context.Background(), pingTimeout)
	defer pcancel()
	if rtt, c, err := pingOnce(pctx, h, remote, false); err == nil {
		emitPing(remote, rtt, c)
		result["directRttMs"] = float64(rtt.Microseconds()) / 1000
	}
	emit("dial:result", result)
	return 0
}

func runRelay(o options) int {
	h := newHost(o, true, nil)
	defer h.Close()
	waitForSignal()
	return 0
}

func main() {
	if len(os.Args) < 2 {
		fail(2, "usage: interop-go listen|dial <circuit multiaddr>|relay [--listen MA] [--relay MA] [--announce MA] [--seed S] [--timeout D]")
	}
	mode := os.Args[1]
	args := os.Args[2:]
	var target string
	if mode == "dial" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			fail(2, "dial needs a target: <relay multiaddr>/p2p-circuit/p2p/<peer id>")
		}
		target, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	var o options
	fs.StringVar(&o.listen, "listen", defaultListen, "listen multiaddr (TCP; its port is reused for dials)")
	fs.StringVar(&o.relay, "relay", "", "relay multiaddr with /p2p/ (listen mode)")
	fs.StringVar(&o.announce, "announce", "", "the only address to announce (relay mode)")
	fs.StringVar(&o.seed, "seed", "", "derive a deterministic identity from this string")
	fs.DurationVar(&o.timeout, "timeout", defaultDialTimeout, "dial: bound on reaching a direct connection")
	fs.Bool("json", true, "accepted for natkit-peer compatibility; output is always JSON")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		fail(2, "%v", err)
	}
	if fs.NArg() > 0 {
		fail(2, "unexpected argument %q", fs.Arg(0))
	}
	if _, err := ma.NewMultiaddr(o.listen); err != nil {
		fail(2, "invalid --listen %q: %v", o.listen, err)
	}
	if o.announce != "" {
		if _, err := ma.NewMultiaddr(o.announce); err != nil {
			fail(2, "invalid --announce %q: %v", o.announce, err)
		}
	}
	switch mode {
	case "listen":
		os.Exit(runListen(o))
	case "dial":
		os.Exit(runDial(o, target))
	case "relay":
		os.Exit(runRelay(o))
	default:
		fail(2, "unknown mode %q: use listen, dial or relay", mode)
	}
}
