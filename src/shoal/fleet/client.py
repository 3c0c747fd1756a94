"""A synchronous client of fleet's HTTP API v1, as fleetctl uses it (client/http.go).

Results are the typed objects of `fleet.schema`. Errors read as fleetctl printed them: API
errors as Google's API client formatted them (`googleapi: Error 503: fleet server unable to
communicate with etcd`), connection failures as Go's net/http did (`Get http://domain-sock/...:
dial unix /var/run/fleet.sock: connect: ...`).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from shoal.fleet.schema import Machine, SchemaError, Unit, UnitState


class FleetAPIError(Exception):
    def __init__(self, text: str, code: int = 0) -> None:
        super().__init__(text)
        self.code = code


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("domain-sock", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # unix | http | https
    address: str  # socket path, or host:port
    display: str  # the URL Go's client would name in errors

    @staticmethod
    def parse(text: str) -> Endpoint:
        first = text.split(",")[0].strip()
        u = urlsplit(first)
        if not u.scheme:
            raise FleetAPIError("URL scheme undefined")
        if u.scheme in ("unix", "file"):
            if u.netloc:
                raise FleetAPIError(
                    f'unable to connect to host "{u.netloc}" with scheme "{u.scheme}"'
                )
            return Endpoint("unix", u.path, "http://domain-sock")
        if u.scheme not in ("http", "https"):
            raise FleetAPIError(f'unsupported protocol scheme "{u.scheme}"')
        return Endpoint(u.scheme, u.netloc, f"{u.scheme}://{u.netloc}")


class FleetClient:
    def __init__(
        self,
        endpoint: str,
        timeout: float = 3.0,
        cafile: str = "",
        certfile: str = "",
        keyfile: str = "",
    ) -> None:
        self.ep = Endpoint.parse(endpoint)
        self.timeout = timeout
        self._ctx: ssl.SSLContext | None = None
        if self.ep.scheme == "https":
            self._ctx = ssl.create_default_context(cafile=cafile or None)
            if certfile:
                self._ctx.load_cert_chain(certfile, keyfile or None)

    def _conn(self) -> http.client.HTTPConnection:
        if self.ep.scheme == "unix":
            return _UnixConnection(self.ep.address, self.timeout)
        if self.ep.scheme == "https":
            return http.client.HTTPSConnection(
                self.ep.address, timeout=self.timeout, context=self._ctx
            )
        return http.client.HTTPConnection(self.ep.address, timeout=self.timeout)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = "/fleet/v1/" + path
        shown = f"{self.ep.display}{url}"
        verb = method[0] + method[1:].lower()
        conn = self._conn()
        connected = False
        try:
            conn.connect()
            connected = True
            headers = {"Content-Type": "application/json"} if body is not None else {}
            data = json.dumps(body) if body is not None else None
            conn.request(method, url + ("&" if "?" in url else "?") + "alt=json", data, headers)
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as e:
            if connected and isinstance(e, TimeoutError):
                # Go's net/http words a slow answer this way.
                why = "net/http: request canceled (Client.Timeout exceeded while awaiting headers)"
            elif self.ep.scheme == "unix":
                why = f"dial unix {self.ep.address}: connect: {_strerror(e)}"
            else:
                why = f"dial tcp {self.ep.address}: {_strerror(e)}"
            raise FleetAPIError(f"{verb} {shown}?alt=json: {why}") from e
        finally:
            conn.close()
        doc: Any = None
        if raw:
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = None
        if resp.status >= 300:
            err = doc.get("error") if isinstance(doc, dict) else None
            if isinstance(err, dict) and err.get("message"):
                raise FleetAPIError(
                    f"googleapi: Error {resp.status}: {err['message']}", resp.status
                )
            text = raw.decode(errors="replace")
            raise FleetAPIError(
                f"googleapi: got HTTP response code {resp.status} with body: {text}", resp.status
            )
        return resp.status, doc

    def _pages(self, path: str, field: str) -> list[object]:
        out: list[object] = []
        token = ""
        while True:
            sep = "&" if "?" in path else "?"
            _, doc = self.request("GET", path + (f"{sep}nextPageToken={token}" if token else ""))
            doc = doc or {}
            out.extend(doc.get(field) or [])
            token = doc.get("nextPageToken", "")
            if not token:
                return out

    def machines(self) -> list[Machine]:
        return _decode(Machine.from_json, self._pages("machines", "machines"))

    def units(self) -> list[Unit]:
        return _decode(Unit.from_json, self._pages("units", "units"))

    def unit_states(self) -> list[UnitState]:
        return _decode(UnitState.from_json, self._pages("state", "states"))

    def _one(self, path: str) -> object | None:
        """The object at path, None when the API answers 404 (or with no object)."""
        try:
            _, doc = self.request("GET", path)
        except FleetAPIError as e:
            if e.code == 404:
                return None
            raise
        return doc if isinstance(doc, dict) else None

    def unit(self, name: str) -> Unit | None:
        doc = self._one("units/" + quote(name, safe="@:"))
        return None if doc is None else _decode(Unit.from_json, [doc])[0]

    def unit_state(self, name: str) -> UnitState | None:
        doc = self._one("state/" + quote(name, safe="@:"))
        return None if doc is None else _decode(UnitState.from_json, [doc])[0]

    def create_unit(self, unit: Unit) -> None:
        self.request("PUT", "units/" + quote(unit.name, safe="@:"), unit.to_json())

    def set_target_state(self, name: str, state: str) -> None:
        self.request(
            "PUT", "units/" + quote(name, safe="@:"), {"name": name, "desiredState": state}
        )

    def journal(self, name: str, lines: int) -> list[str]:
        """shoal's extension: the last lines of the unit's journal from the machine this API
        belongs to (404 when the unit is not loaded there)."""
        _, doc = self.request("GET", f"shoal/journal/{quote(name, safe='@:')}?lines={lines}")
        got = doc.get("lines") if isinstance(doc, dict) else None
        return [str(line) for line in got] if isinstance(got, list) else []

    def destroy_unit(self, name: str) -> None:
        self.request("DELETE", "units/" + quote(name, safe="@:"))


T = TypeVar("T")


def _decode(decode: Callable[[object], T], docs: list[object]) -> list[T]:
    try:
        return [decode(d) for d in docs]
    except SchemaError as e:
        raise FleetAPIError(f"malformed response from the fleet API: {e}") from None


def _strerror(e: OSError) -> str:
    if isinstance(e, TimeoutError | socket.timeout):
        return "i/o timeout"
    return (e.strerror or str(e)).lower()
