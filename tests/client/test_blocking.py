"""The socket client command-line tools use for a request or two (shoal.client.blocking): what
it reads back from answers framed every way a server may frame them, a kept connection the
server closed meanwhile, and the failures worded as Go's net/http words them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from shoal.client import AsyncClient
from shoal.client.blocking import Connections, Failure, HeaderTimeout
from shoal.etcdctl.main import run_without_loop


class Canned:
    """A loopback server answering each connection's requests with the next canned bytes
    (None: read the request, answer nothing); closes a connection after `per_conn`."""

    def __init__(self, answers: list[bytes | None], per_conn: int = 100) -> None:
        self.answers = list(answers)
        self.per_conn = per_conn
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                for _ in range(self.per_conn):
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if not data or not self.answers:
                        break
                    self.requests.append(data)
                    answer = self.answers.pop(0)
                    if answer is None:
                        conn.recv(1)  # hold the connection until the client gives up
                        break
                    conn.sendall(answer)
                    if answer.startswith(b"HTTP/1.0"):
                        break  # its body runs until the connection ends

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def canned(request: pytest.FixtureRequest) -> Iterator[Canned]:
    c = Canned(*request.param)
    yield c
    c.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n"
)
CLOSE = b"HTTP/1.0 200 OK\r\n\r\nuntil close"


@pytest.mark.parametrize("canned", [([OK, CHUNKED, CLOSE],)], indirect=True)
def test_bodies_framed_every_way_are_read_whole(canned: Canned) -> None:
    conns = Connections()
    for want in (b"ok", b"abcde", b"until close"):
        status, _, body = conns.exchange(canned.url, "GET", "/v2/keys/a", {}, None, 5)
        assert (status, body) == (200, want)
    conns.close()
    # The first two came over one kept connection: the host was named on each.
    assert all(b"Host: 127.0.0.1:" in r for r in canned.requests)


@pytest.mark.parametrize("canned", [([OK, OK], 1)], indirect=True)
def test_a_kept_connection_the_server_closed_is_dialled_again(canned: Canned) -> None:
    conns = Connections()
    assert conns.exchange(canned.url, "GET", "/a", {}, None, 5)[2] == b"ok"
    assert conns.exchange(canned.url, "PUT", "/b", {}, b"value=1", 5)[2] == b"ok"
    assert canned.requests[1].startswith(b"PUT /b HTTP/1.1\r\n")
    conns.close()


def test_a_refused_dial_is_worded_as_go_words_it() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(Failure) as e:
        Connections().exchange(f"http://127.0.0.1:{port}", "GET", "/", {}, None, 5)
    assert e.value.text == f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    assert e.value.connection


@pytest.mark.parametrize("canned", [([None],)], indirect=True)
def test_no_headers_in_time_is_a_header_timeout(canned: Canned) -> None:
    with pytest.raises(HeaderTimeout):
        Connections().exchange(canned.url, "GET", "/", {}, None, 0.3)


@pytest.mark.parametrize("canned", [([None],)], indirect=True)
def test_the_async_client_in_blocking_mode_runs_without_a_loop(canned: Canned) -> None:
    """What etcdctl get does: the coroutine ends without ever waiting on an event loop, and a
    header timeout is the Go client's error for the endpoint."""

    async def get() -> str:
        async with AsyncClient([canned.url], timeout=0.3, blocking=True) as c:
            try:
                await c.get("/a")
            except Exception as e:
                return str(e)
        return "no error"

    out: list[str] = []

    async def run() -> None:
        out.append(await get())

    run_without_loop(run())
    assert out == [
        f"client: etcd cluster is unavailable or misconfigured; error #0: client: endpoint "
        f"{canned.url} exceeded header timeout\n"
    ]
