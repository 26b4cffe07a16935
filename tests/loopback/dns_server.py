"""A real DNS server on 127.0.0.1 (UDP and TCP, one port) serving fixed zones, with modes for broken resolvers."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Mapping
from typing import Literal

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

Zones = Mapping[str, Mapping[str, list[str]]]
Mode = Literal["normal", "nxdomain_all", "silent", "servfail"]


class DnsStandIn:
    """Answers from `zones` ({"example.org": {"MX": ["10 mx.example.org."], "A": ["192.0.2.1"]}});
    other names are NXDOMAIN. `mode` switches to a resolver that NXDOMAINs everything, says nothing, or SERVFAILs."""

    def __init__(self, zones: Zones) -> None:
        self.zones = {name.rstrip(".").lower(): records for name, records in zones.items()}
        self.mode: Mode = "normal"
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._udp, self._tcp = _bind_pair(self)

    @property
    def address(self) -> str:
        """host:port, as `CMO_DNS_SERVER` takes it."""
        host, port = self._udp.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> DnsStandIn:
        for server in (self._udp, self._tcp):
            threading.Thread(target=server.serve_forever, args=(0.05,), name="dns-stand-in", daemon=True).start()
        return self

    def stop(self) -> None:
        for server in (self._udp, self._tcp):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> DnsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, name: str | None = None, rdtype: str | None = None) -> int:
        """How many queries were received, optionally only for `name` and/or `rdtype`."""
        with self._lock:
            return sum(1 for q in self.queries if name in (None, q[0]) and rdtype in (None, q[1]))

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query in wire format; None to stay silent."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.queries.append((name, rdtype))
        if self.mode == "silent":
            return None
        response = dns.message.make_response(query)
        if self.mode == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif self.mode == "nxdomain_all" or name not in self.zones:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif records := self.zones[name].get(rdtype):
            response.answer.append(dns.rrset.from_text(question.name, 300, "IN", rdtype, *records))
        return response.to_wire()


class _UdpHandler(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.stand_in.answer(data)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        while (prefix := _read_exactly(sock, 2)) is not None:
            wire = _read_exactly(sock, int.from_bytes(prefix, "big"))
            reply = self.server.stand_in.answer(wire) if wire is not None else None
            if reply is None:
                return
            sock.sendall(len(reply).to_bytes(2, "big") + reply)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    stand_in: DnsStandIn


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    stand_in: DnsStandIn


def _bind_pair(stand_in: DnsStandIn) -> tuple[_UdpServer, _TcpServer]:
    """A UDP server on an ephemeral port and a TCP server on the same port (retried if that port is taken)."""
    for _ in range(20):
        udp = _UdpServer(("127.0.0.1", 0), _UdpHandler)
        try:
            tcp = _TcpServer(("127.0.0.1", udp.server_address[1]), _TcpHandler)
        except OSError:
            udp.server_close()
            continue
        udp.stand_in = tcp.stand_in = stand_in
        return udp, tcp
    raise OSError("no free port for both UDP and TCP")


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
