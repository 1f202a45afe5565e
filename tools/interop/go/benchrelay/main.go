// bench-relay: a go-libp2p circuit relay v2 with its limits raised, the
// counterpart of natkit-relay in `npm run bench -- --relay go` (never shipped).
//
//	bench-relay [--listen MA] [--max-reservations N] [--max-circuits N] [--circuit-data BYTES]
//
// TCP, noise, yamux, identify, ping and the relay service, with no resource
// manager and no connection manager trimming (as natkit-relay runs in the
// bench: its limits raised by flags). Prints one JSON line
// {"event":"listening","peerId":...,"addrs":[...]} on stdout, then runs until
// SIGTERM/SIGINT. Bad arguments exit 2.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-relay: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	fs := flag.NewFlagSet("bench-relay", flag.ContinueOnError)
	listen := fs.String("listen", "/ip4/127.0.0.1/tcp/0", "listen multiaddr (TCP)")
	maxReservations := fs.Int("max-reservations", 20000, "maximum reservations (also per IP and per ASN: the bench's clients share 127.0.0.1)")
	maxCircuits := fs.Int("max-circuits", 2000, "maximum concurrent circuits per peer")
	circuitData := fs.Int64("circuit-data", 1<<17, "data limit of a relayed connection, each direction (bytes; go-libp2p's default 128 KiB)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		fail("%v", err)
	}
	if *maxReservations < 1 || *maxCircuits < 1 || *circuitData < 1 {
		fail("--max-reservations, --max-circuits and --circuit-data must be >= 1")
	}
	rc := relayv2.DefaultResources()
	rc.ReservationTTL = 2 * time.Hour
	rc.MaxReservations = *maxReservations
	rc.MaxReservationsPerIP = *maxReservations
	rc.MaxReservationsPerASN = *maxReservations
	rc.MaxCircuits = *maxCircuits
	rc.Limit = &relayv2.RelayLimit{Duration: relayv2.DefaultLimit().Duration, Data: *circuitData}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings(*listen),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.Ping(true),
		libp2p.DisableMetrics(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.ConnectionManager(&connmgr.NullConnMgr{}),
		libp2p.DisableRelay(),
		libp2p.ForceReachabilityPublic(),
		libp2p.EnableRelayService(relayv2.WithResources(rc)),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-relay: cannot start: %v\n", err)
		os.Exit(1)
	}
	defer h.Close()
	addrs := []string{}
	for _, a := range h.Addrs() {
		addrs = append(addrs, a.String())
	}
	line, _ := json.Marshal(map[string]any{"ts": time.Now().UnixMilli(), "event": "listening", "peerId": h.ID().String(), "addrs": addrs})
	fmt.Println(string(line))
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}
