"""What every etcdctl command gets: parsed flags, streams, and a client built the way etcdctl
builds it (ctlv2/command/util.go: endpoints from flags or environment, TLS, credentials, --debug
curl lines, and a sync of the endpoint list from /v2/members unless --no-sync)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from shoal.client import (
    AsyncClient,
    ClientError,
    ClusterError,
    DeadlineExceeded,
    NoEndpointsError,
)
from shoal.client.protocol import DEFAULT_ENDPOINTS
from shoal.etcdctl.flags import Parsed
from shoal.etcdctl.output import fail
from shoal.etcdctl.spec import EXIT_BAD_ARGS, EXIT_BAD_CONNECTION, EXIT_SERVER_ERROR, Exit
from shoal.gocompat.strconv import quote

if TYPE_CHECKING:
    import ssl

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class Context:
    opts: Parsed  # global flags
    flags: Parsed  # the command's flags and positional arguments
    out: TextIO
    err: TextIO
    stdin: TextIO
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    blocking: bool = False  # clients send over plain sockets (the command runs without a loop)

    @property
    def args(self) -> list[str]:
        return self.flags.args

    @property
    def output(self) -> str:
        return self.opts.get_str("output")

    @property
    def total_timeout(self) -> float:
        return self.opts.get_seconds("total-timeout")

    def fail(self, code: int, error: BaseException | str) -> Exit:
        return fail(self.err, code, error)

    def endpoints(self) -> list[str]:
        """getEndpoints: --endpoints, ETCDCTL_ENDPOINTS, --endpoint, ETCDCTL_ENDPOINT, --peers,
        ETCDCTL_PEERS, then the default; a missing scheme becomes http."""
        if self.opts.get_str("discovery-srv") or self.env.get("ETCDCTL_DISCOVERY_SRV"):
            # etcdctl resolves DNS SRV records here; the standard library has no SRV lookup.
            self.err.write("shoal etcdctl: --discovery-srv is not supported; use --endpoints\n")
            raise Exit(EXIT_BAD_ARGS)
        raw = ""
        for flag, var in (("endpoints", "ETCDCTL_ENDPOINTS"), ("endpoint", "ETCDCTL_ENDPOINT")):
            raw = raw or self.opts.get_str(flag) or self.env.get(var, "")
        raw = raw or self.opts.get_str("peers") or self.env.get("ETCDCTL_PEERS", "")
        raw = raw or ",".join(DEFAULT_ENDPOINTS)
        out = []
        for ep in raw.split(","):
            if not _SCHEME.match(ep):
                first = ep.split("/", 1)[0]
                if ":" in first:  # Go's url.Parse refuses "127.0.0.1:2379"
                    self.err.write(
                        f'parse "{ep}": first path segment in URL cannot contain colon\n'
                    )
                    raise Exit(EXIT_BAD_ARGS)
                ep = "http://" + ep
            out.append(ep)
        return out

    def _ssl_context(self) -> ssl.SSLContext | None:
        ca = self.opts.get_str("ca-file") or self.env.get("ETCDCTL_CA_FILE", "")
        cert = self.opts.get_str("cert-file") or self.env.get("ETCDCTL_CERT_FILE", "")
        key = self.opts.get_str("key-file") or self.env.get("ETCDCTL_KEY_FILE", "")
        if not (ca or cert or key):
            return None
        from shoal.tls import TLSError, client_context

        try:
            ctx = client_context(ca, cert, key)
        except TLSError as exc:
            self.err.write(f"{exc.go}\n")  # Go's words, as etcdctl prints them
            raise Exit(EXIT_BAD_ARGS) from None
        return ctx

    def _credentials(self) -> tuple[str | None, str | None]:
        flag = self.opts.get_str("username") or self.env.get("ETCDCTL_USERNAME", "")
        if not flag:
            return None, None
        if ":" in flag:
            user, password = flag.split(":", 1)
            return user, password
        return flag, self.ask_password("Password: ")

    def ask_password(self, prompt: str) -> str:
        """Prompt on stdout and read a line with echo off, the way etcdctl's speakeasy does:
        by running `stty -echo` / `stty echo` on our stdin (so a non-terminal stdin gets stty's
        complaint on stderr, as with etcdctl) and printing a newline afterwards."""
        self.out.write(prompt)
        self.out.flush()
        _stty("-echo")
        try:
            line = self.stdin.readline()
        except (OSError, ValueError):
            line = ""
        finally:
            _stty("echo")
        self.out.write("\n")
        return line[:-1] if line.endswith("\n") else line

    def _curl(self, method: str, url: str, body: str | None) -> None:
        command = f"curl -X {method} {url}"
        if body is not None:
            command += f" -d {quote(body)}"
        self.err.write(f"cURL Command: {command}\n")
        self.err.flush()

    def client(self, *, sync: bool = True) -> AsyncClient:
        """A client without the sync step (mustNewClientNoSync); see `synced_client`."""
        user, password = self._credentials()
        debug = self.opts.get_bool("debug")
        client = AsyncClient(
            self.endpoints(),
            timeout=self.opts.get_seconds("timeout") or None,
            total_timeout=self.total_timeout,  # 0 expires at once, as Go's context does
            username=user,
            password=password,
            ssl_context=self._ssl_context(),
            on_request=self._curl if debug else None,
            blocking=self.blocking,
        )
        if debug and not sync:
            self.err.write(f"Cluster-Endpoints: {', '.join(client.endpoints)}\n")
        return client

    async def synced_client(self) -> AsyncClient:
        """mustNewClient: sync the endpoint list unless --no-sync. A failed sync stops the
        command only when the cluster has no client URLs or no endpoint could be reached."""
        client = self.client(sync=True)
        debug = self.opts.get_bool("debug")
        if not self.opts.get_bool("no-sync"):
            if debug:
                eps = ",".join(client.endpoints)
                self.err.write(f"start to sync cluster using endpoints({eps})\n")
            try:
                await client.sync()
            except NoEndpointsError as exc:
                self.err.write("etcd cluster has no published client endpoints.\n")
                self.err.write(
                    "Try '--no-sync' if you want to access non-published client "
                    f"endpoints({','.join(client.endpoints)}).\n"
                )
                await client.close()
                raise self.fail(EXIT_SERVER_ERROR, exc) from None
            except ClusterError as exc:
                if exc.is_connection_error:
                    await client.close()
                    raise self.fail(EXIT_BAD_CONNECTION, exc) from None
            except DeadlineExceeded as exc:  # Go counts a timeout as a connection error
                await client.close()
                raise self.fail(EXIT_BAD_CONNECTION, exc) from None
            except ClientError:  # etcdctl goes on with the given endpoints after other failures
                pass
            if debug:
                self.err.write(f"got endpoints({','.join(client.endpoints)}) after sync\n")
        if debug:
            self.err.write(f"Cluster-Endpoints: {', '.join(client.endpoints)}\n")
        return client


def _stty(mode: str) -> None:
    if shutil.which("stty") is None:
        return
    sys.stderr.flush()
    subprocess.run(["stty", mode], check=False)  # argv[0] as typed: stty names itself in errors
