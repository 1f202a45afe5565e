#!/usr/bin/env python3
"""natkit delay line: a userspace link emulator for the NAT lab.

The kernels we run the lab on have no `netem` qdisc, so link delay and loss
are added here instead. The program sits on one bridge port of the lab's
internet namespace:

    node (router wan / host eth0) <-veth-> PORT  [this program]  TAP <-> br0

It owns a TAP device (created here, enslaved to the bridge by the caller) and
an AF_PACKET socket bound to the node's veth end PORT (which the caller takes
out of the bridge). Every Ethernet frame read on one side is queued and
written to the other side after a fixed one-way delay, unless it is dropped
by the optional random loss. Both directions are delayed and dropped
independently. Frames keep their virtio-net header (IFF_VNET_HDR /
PACKET_VNET_HDR), so checksum-offloaded and GSO frames pass unchanged.

Only the Python standard library is used. Output: one JSON object per line
on stdout: `ready` after setup, `stats` on SIGUSR1 or on the stdin command
`stats <request-id>` (echoed as `request`), and a final `stats` on exit
(SIGTERM, SIGINT, the stdin command `stop`, or EOF on stdin, i.e. the parent
went away).
"""
import argparse
import collections
import fcntl
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
SOL_PACKET = 263
PACKET_VNET_HDR = 15
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32

#: Most frames waiting per direction; further frames are dropped and counted as overflow.
DEFAULT_QUEUE_LIMIT = 10000
#: Most frames read from one side before the queues are serviced again.
DEFAULT_READ_BATCH = 256
#: Largest frame read (64 KiB GSO frame + virtio-net header).
MAX_FRAME = 65536 + 64
#: Socket buffer size asked for on the packet socket.
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
#: Longest command line accepted on stdin.
MAX_COMMAND_BYTES = 1024
#: Longest accepted one-way delay.
MAX_DELAY_MS = 60000


class Direction:
    """One direction of the link: a FIFO of (release_time, frame) plus counters."""

    def __init__(self, name, limit):
        self.name = name
        self.limit = limit
        self.queue = collections.deque()
        self.received = 0
        self.forwarded = 0
        self.lost = 0
        self.overflow = 0
        self.errors = 0
        self.max_queued = 0

    def stats(self):
        return {
            'received': self.received,
            'forwarded': self.forwarded,
            'lost': self.lost,
            'overflow': self.overflow,
            'errors': self.errors,
            'queued': len(self.queue),
            'maxQueued': self.max_queued,
        }


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(',', ':')) + '\n')
    sys.stdout.flush()


def parse_args(argv):
    p = argparse.ArgumentParser(description='userspace link delay/loss between a veth port and a TAP device')
    p.add_argument('--port', required=True, help='veth end of the node (taken out of the bridge by the caller)')
    p.add_argument('--tap', required=True, help='name of the TAP device to create (enslaved to the bridge by the caller)')
    p.add_argument('--delay-ms', type=float, required=True, help='one-way delay, applied in both directions')
    p.add_argument('--loss-percent', type=float, default=0.0, help='random loss per frame and direction')
    p.add_argument('--seed', type=int, default=None, help='seed of the loss generator (default: random)')
    p.add_argument('--queue-limit', type=int, default=DEFAULT_QUEUE_LIMIT, help='most frames waiting per direction')
    a = p.parse_args(argv)
    if not (0 <= a.delay_ms <= MAX_DELAY_MS):
        p.error('--delay-ms must be 0..%d' % MAX_DELAY_MS)
    if not (0 <= a.loss_percent <= 100):
        p.error('--loss-percent must be 0..100')
    if not (1 <= a.queue_limit <= 1000000):
        p.error('--queue-limit must be 1..1000000')
    if len(a.tap.encode()) > 15 or len(a.port.encode()) > 15:
        p.error('interface names are at most 15 bytes')
    return a


def open_tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    except OSError:
        os.close(fd)
        raise
    return fd


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        for opt, fallback in ((SO_RCVBUFFORCE, socket.SO_RCVBUF), (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFFER_BYTES)
            except OSError:
                s.setsockopt(socket.SOL_SOCKET, fallback, SOCKET_BUFFER_BYTES)
        s.bind((name, ETH_P_ALL))
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return s


def main(argv):
    a = parse_args(argv)
    delay = a.delay_ms / 1000.0
    loss = a.loss_percent / 100.0
    rng = random.Random(a.seed)

    # signals wake the select loop through a pipe
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    pending = {'stop': None, 'stats': 0}

    def on_stop(signum, _frame):
        pending['stop'] = signal.Signals(signum).name

    def on_stats(_signum, _frame):
        pending['stats'] += 1

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, on_stats)

    try:
        tap = open_tap(a.tap)
    except OSError as e:
        out({'event': 'error', 'where': 'tap', 'message': 'cannot create TAP %s: %s' % (a.tap, e)})
        return 2
    try:
        port = open_port(a.port)
    except OSError as e:
        os.close(tap)
        out({'event': 'error', 'where': 'port', 'message': 'cannot open packet socket on %s: %s' % (a.port, e)})
        return 2

    # "up": frames from the node towards the internet; "down": towards the node
    up = Direction('toInternet', a.queue_limit)
    down = Direction('fromInternet', a.queue_limit)
    stdin_fd = sys.stdin.fileno()
    watch_stdin = True
    stdin_buf = b''
    started = time.monotonic()

    def stats(final, reason=None, request=None):
        o = {'event': 'stats', 'final': final, 'uptimeMs': round((time.monotonic() - started) * 1000),
             'toInternet': up.stats(), 'fromInternet': down.stats()}
        if reason is not None:
            o['reason'] = reason
        if request is not None:
            o['request'] = request
        out(o)

    def enqueue(d, frame, now):
        d.received += 1
        if loss > 0 and rng.random() < loss:
            d.lost += 1
        elif len(d.queue) >= d.limit:
            d.overflow += 1
        else:
            d.queue.append((now + delay, frame))
            if len(d.queue) > d.max_queued:
                d.max_queued = len(d.queue)

    def read_port(now):
        for _ in range(DEFAULT_READ_BATCH):
            try:
                frame, addr = port.recvfrom(MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                return
            if addr[2] == PACKET_OUTGOING:
                continue  # our own transmissions on the port
            enqueue(up, frame, now)

    def read_tap(now):
        for _ in range(DEFAULT_READ_BATCH):
            try:
                frame = os.read(tap, MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                return
            enqueue(down, frame, now)

    def release(now):
        while up.queue and up.queue[0][0] <= now:
            frame = up.queue.popleft()[1]
            try:
                os.write(tap, frame)
                up.forwarded += 1
            except OSError:
                up.errors += 1
        while down.queue and down.queue[0][0] <= now:
            frame = down.queue.popleft()[1]
            try:
                port.send(frame)
                down.forwarded += 1
            except OSError:
                down.errors += 1

    out({'event': 'ready', 'pid': os.getpid(), 'tap': a.tap, 'port': a.port, 'delayMs': a.delay_ms,
         'lossPercent': a.loss_percent, 'seed': a.seed, 'queueLimit': a.queue_limit})

    reason = None
    while True:
        if pending['stop'] is not None:
            reason = pending['stop']
            break
        while pending['stats'] > 0:
            pending['stats'] -= 1
            stats(False)
        now = time.monotonic()
        heads = [d.queue[0][0] for d in (up, down) if d.queue]
        timeout = max(0.0, min(heads) - now) if heads else None
        fds = [port, tap, wake_r] + ([stdin_fd] if watch_stdin else [])
        try:
            readable, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            readable = []
        now = time.monotonic()
        if wake_r in readable:
            try:
                os.read(wake_r, 512)
            except BlockingIOError:
                pass
        if port in readable:
            read_port(now)
        if tap in readable:
            read_tap(now)
        if watch_stdin and stdin_fd in readable:
            try:
                data = os.read(stdin_fd, 4096)
            except OSError:
                data = b''
            if data == b'':
                reason = 'stdin closed'
                break
            stdin_buf += data
            if len(stdin_buf) > MAX_COMMAND_BYTES and b'\n' not in stdin_buf:
                stdin_buf = b''  # garbage without a newline: drop it
            while b'\n' in stdin_buf:
                line, stdin_buf = stdin_buf.split(b'\n', 1)
                words = line.decode('utf-8', 'replace').split()
                if words[:1] == ['stats']:
                    stats(False, request=words[1] if len(words) > 1 else None)
                elif words[:1] == ['stop']:
                    pending['stop'] = 'stop command'
        release(time.monotonic())

    stats(True, reason)
    port.close()
    os.close(tap)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
