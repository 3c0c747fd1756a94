"""fleet's HTTP API v1 (Documentation/api-v1.md, api/*.go), served by aiohttp on a unix socket and
optionally TCP.

Every request reads the registry from etcd with quorum=true, so a fleetctl that just wrote sees its
write, and a cluster without quorum gives fleet's 503 `fleet server unable to communicate with
etcd` instead of stale answers. Until this fleetd has registered its machine (or while another
holds its machine ID) every request gets the same 503, as fleet's unavailable handler did.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from shoal.fleet import facts
from shoal.fleet.etcdv2 import EtcdError, EtcdUnavailable
from shoal.fleet.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from shoal.fleet.registry import Keyspace, MachineState, Registry, UnitState
from shoal.fleet.unit import (
    Unit,
    UnitOption,
    name_info,
    options_from_json,
    unit_hash,
    validate_name,
    validate_options,
)


class APIError(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---- JSON shapes (schema/v1-gen.go; Go's omitempty drops empty fields) -------------------------


def _omit_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in ("", None, [], {})}


def option_json(o: UnitOption) -> dict[str, Any]:
    return _omit_empty({"section": o.section, "name": o.name, "value": o.value})


def unit_json(u: Unit, ks: Keyspace) -> dict[str, Any]:
    j = ks.jobs.get(u.name)
    return _omit_empty(
        {
            "name": u.name,
            "options": [option_json(o) for o in u.options],
            "desiredState": u.target_state,
            # fleet gives a global unit no schedule, so no current state (the field is absent).
            "currentState": "" if u.requirements.is_global else ks.current_state(u.name),
            "machineID": j.target if j else "",
        }
    )


def machine_json(m: MachineState) -> dict[str, Any]:
    return _omit_empty({"id": m.id, "primaryIP": m.public_ip, "metadata": dict(m.metadata)})


def state_json(s: UnitState) -> dict[str, Any]:
    return _omit_empty(
        {
            "name": s.name,
            "hash": s.unit_hash,
            "machineID": s.machine_id,
            "systemdLoadState": s.load_state,
            "systemdActiveState": s.active_state,
            "systemdSubState": s.sub_state,
            "shoalLoadError": s.load_error,  # shoal's: why the machine refused the unit
        }
    )


# ---- pagination (api/pagination.go: base64url of little-endian uint16 Limit, uint16 Page) ------


@dataclass(frozen=True)
class PageToken:
    limit: int
    page: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(struct.pack("<HH", self.limit, self.page)).decode()


def page_token(query: Sequence[str], limit: int) -> PageToken:
    if len(query) > 1:
        raise APIError(400, "too many values for page token")
    if not query:
        return PageToken(limit, 1)
    try:
        raw = base64.urlsafe_b64decode(query[0].encode())
    except (binascii.Error, ValueError) as e:
        raise APIError(400, f"illegal base64 data: {e}") from e
    if len(raw) < 4:
        raise APIError(400, "unexpected EOF" if raw else "EOF")
    tok = PageToken(*struct.unpack("<HH", raw[:4]))
    if tok.limit != limit:
        raise APIError(400, f"token limit must be {limit}")
    if tok.page == 0:
        raise APIError(400, "token page must be greater than zero")
    return tok


def paginate(items: Sequence[dict[str, Any]], tok: PageToken, field: str) -> dict[str, Any]:
    start, stop = (tok.page - 1) * tok.limit, tok.page * tok.limit
    out: dict[str, Any] = {}
    if start < len(items):
        if stop < len(items):
            out["nextPageToken"] = PageToken(tok.limit, tok.page + 1).encode()
        page = list(items[start:stop])
        if page:
            out[field] = page
    return out


# shoal: GET <prefix>/shoal/journal/<unit>?lines=N, answered by the machine running the unit.
JOURNAL_PATH = "/shoal/journal/"
Journal = Callable[[str, int], Awaitable[list[str] | None]]

# How long later pages of a listing are served from the snapshot its first page was cut from.
SNAPSHOT_TTL = 10.0

_METADATA_PATH = re.compile(r"^/([^/]+)/metadata/([A-Za-z0-9_.-]+)$")

_METHOD_MESSAGES = {
    "units_collection": "only GET supported against this resource",
    "units_item": "only GET, PUT and DELETE supported against this resource",
    "state": "only GET supported against this resource",
    "machines": "only GET and PATCH supported against this resource",
}


def discovery_document() -> dict[str, Any]:
    """A description of the API's methods (shoal's own, in Google's discovery format)."""

    def method(verb: str, path: str, desc: str) -> dict[str, str]:
        return {"httpMethod": verb, "path": path, "description": desc}

    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": "fleet:v1",
        "name": "fleet",
        "version": "v1",
        "servicePath": "fleet/v1/",
        "resources": {
            "Machines": {
                "methods": {
                    "List": method("GET", "machines", "Retrieve a page of Machine objects."),
                    "Patch": method("PATCH", "machines", "Edit machine metadata (JSON Patch)."),
                }
            },
            "Units": {
                "methods": {
                    "List": method("GET", "units", "Retrieve a page of Unit objects."),
                    "Get": method("GET", "units/{unitName}", "Retrieve a single Unit object."),
                    "Set": method("PUT", "units/{unitName}", "Create or modify a Unit."),
                    "Delete": method("DELETE", "units/{unitName}", "Delete the referenced Unit."),
                }
            },
            "UnitState": {
                "methods": {
                    "List": method("GET", "state", "Retrieve a page of UnitState objects."),
                }
            },
        },
    }


def _json(code: int, body: object | None) -> web.Response:
    if body is None:
        return web.Response(status=code)
    return web.Response(status=code, text=json.dumps(body), content_type="application/json")


def error_response(code: int, message: str = "") -> web.Response:
    return _json(code, {"error": {"code": code, "message": message}})


class FleetAPI:
    def __init__(
        self,
        registry: Registry,
        token_limit: int = facts.DEFAULT_TOKEN_LIMIT,
        available: Callable[[], bool] = lambda: True,
        journal: Journal | None = None,
        machine_id: str = "",
    ) -> None:
        self.registry = registry
        self.journal = journal
        self.machine_id = machine_id
        self.token_limit = token_limit
        self.available = available
        self._snapshots: dict[tuple[str, ...], tuple[float, list[Any]]] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, req: web.Request) -> web.StreamResponse:
        if req.path == "/metrics":  # fleet's mux serves Prometheus beside /fleet/v1
            body = self.registry.metrics.exposition()
            return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})
        try:
            if not self.available():
                raise EtcdUnavailable("not registered")
            resp = await self._route(req)
        except APIError as e:
            resp = error_response(e.code, e.message)
        except EtcdUnavailable:
            resp = error_response(503, facts.MSG_ETCD_UNAVAILABLE)
        except EtcdError:
            resp = error_response(500)
        resp.headers["Server"] = f"fleetd/{facts.FLEET_VERSION}"
        return resp

    async def _route(self, req: web.Request) -> web.StreamResponse:
        path = req.path
        for prefix in facts.API_PREFIXES:
            if path == prefix:
                raise APIError(405)
            if not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) :]
            if rest in ("/units", "/units/"):
                if req.method != "GET":
                    raise APIError(405, _METHOD_MESSAGES["units_collection"])
                return await self.list_units(req)
            if rest.startswith("/units/") and "/" not in rest[len("/units/") :]:
                item = rest[len("/units/") :]
                if req.method == "GET":
                    return await self.get_unit(item)
                if req.method == "PUT":
                    return await self.set_unit(req, item)
                if req.method == "DELETE":
                    return await self.destroy_unit(item)
                raise APIError(405, _METHOD_MESSAGES["units_item"])
            if rest in ("/state", "/state/"):
                if req.method != "GET":
                    raise APIError(405, _METHOD_MESSAGES["state"])
                return await self.list_states(req)
            if rest.startswith("/state/") and "/" not in rest[len("/state/") :]:
                if req.method != "GET":
                    raise APIError(405, _METHOD_MESSAGES["state"])
                return await self.get_state(rest[len("/state/") :])
            if rest == "/machines":
                if req.method == "GET":
                    return await self.list_machines(req)
                if req.method == "PATCH":
                    return await self.patch_machines(req)
                raise APIError(405, _METHOD_MESSAGES["machines"])
            if rest.startswith(JOURNAL_PATH) and "/" not in rest[len(JOURNAL_PATH) :]:
                if req.method != "GET":
                    raise APIError(405, "only GET supported against this resource")
                return await self.get_journal(req, rest[len(JOURNAL_PATH) :])
            if rest == "/discovery":
                if req.method != "GET":
                    raise APIError(405, "only GET supported against this resource")
                return _json(200, discovery_document())
            break
        raise APIError(405 if path == "/" else 404)

    # units

    async def _listing(
        self, tok: PageToken, key: tuple[str, ...], build: Callable[[], Awaitable[list[Any]]]
    ) -> list[Any]:
        """The items of a paginated listing. Page 1 is always read afresh; later pages come
        from the snapshot page 1 was cut from (shoal: fleet re-read the registry for every
        page, so listing 1,000 units cost ten full reads and pages could skip or repeat)."""
        now = time.monotonic()
        cached = self._snapshots.get(key)
        if tok.page > 1 and cached is not None and now - cached[0] < SNAPSHOT_TTL:
            return cached[1]
        items = await build()
        self._snapshots[key] = (now, items)
        return items

    async def list_units(self, req: web.Request) -> web.Response:
        tok = page_token(req.query.getall("nextPageToken", []), self.token_limit)

        async def build() -> list[Any]:
            ks = await self.registry.read("job", "unit", "states", "machines")
            return [unit_json(u, ks) for u in ks.units()]

        items = await self._listing(tok, ("units",), build)
        return _json(200, paginate(items, tok, "units"))

    async def get_unit(self, name: str) -> web.Response:
        ks = await self.registry.read_unit(name)
        u = ks.unit(name)
        if u is None:
            raise APIError(404, "unit does not exist")
        return _json(200, unit_json(u, ks))

    async def destroy_unit(self, name: str) -> web.Response:
        ks = await self.registry.read_unit(name)
        if ks.unit(name) is None:
            raise APIError(404, "unit does not exist")
        await self.registry.destroy_unit(name)
        return _json(204, None)

    async def set_unit(self, req: web.Request, item: str) -> web.Response:
        ctypes = req.headers.getall("Content-Type", [])
        if len(ctypes) != 1:
            raise APIError(415, f"expected 1 Content-Type, got {len(ctypes)}")
        if ctypes[0].split(";", 1)[0].strip() != "application/json":
            raise APIError(415, "only acceptable Content-Type is application/json")
        try:
            body = json.loads(await req.read())
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            name = body.get("name") or item
            desired = body.get("desiredState") or ""
            if not isinstance(name, str) or not isinstance(desired, str):
                raise ValueError("name and desiredState must be strings")
            options = options_from_json(body.get("options") or [])
        except ValueError as e:
            raise APIError(400, f"unable to decode body: {e}") from e
        if name != item:
            raise APIError(
                400, f'name in URL "{item}" differs from unit name in request body "{name}"'
            )
        bad = validate_name(name)
        if bad:
            raise APIError(400, bad)
        if desired and desired not in facts.JOB_STATES:
            raise APIError(400, f'invalid value "{desired}" for JobState')
        ks = await self.registry.read_unit(name, with_state=False)
        existing = ks.unit(name)
        new_unit = False
        if existing is None:
            if not options:
                raise APIError(409, "unit does not exist and options field empty")
            bad = validate_options(options)
            if bad:
                raise APIError(400, bad)
            new_unit = True
        elif options:
            new_unit = unit_hash(options) != existing.hash
            if new_unit:
                bad = validate_options(options)
                if bad:
                    raise APIError(400, bad)
        if new_unit:
            # A replacement starts over as a new unit, inactive unless the body says otherwise
            # (fleet's RegistryClient.CreateUnit): fleetctl --replace waits for "inactive"
            # before it loads or starts the new version.
            await self.registry.create_unit(Unit(name, options, desired or facts.STATE_INACTIVE))
            return _json(201, None)
        if not desired:
            raise APIError(409, "must provide DesiredState to update existing unit")
        info = name_info(name)
        if info is not None and info.is_template and desired != facts.STATE_INACTIVE:
            raise APIError(400, f'cannot activate template "{name}"')
        await self.registry.set_target_state(name, desired)
        return _json(204, None)

    # state

    async def list_states(self, req: web.Request) -> web.Response:
        tok = page_token(req.query.getall("nextPageToken", []), self.token_limit)
        machine = (req.query.getall("machineID", []) or [""])[0]
        unit = (req.query.getall("unitName", []) or [""])[0]

        async def build() -> list[Any]:
            ks = await self.registry.read(f"states/{unit}" if unit else "states", "machines")
            return [
                state_json(s)
                for s in ks.live_states()
                if (not machine or s.machine_id == machine) and (not unit or s.name == unit)
            ]

        items = await self._listing(tok, ("states", machine, unit), build)
        return _json(200, paginate(items, tok, "states"))

    async def get_state(self, name: str) -> web.Response:
        ks = await self.registry.read(f"states/{name}", "machines")
        for s in ks.live_states():
            if s.name == name:
                return _json(200, state_json(s))
        raise APIError(404, "unit state does not exist")

    # journal (shoal's extension: fleet ran journalctl over ssh on the unit's machine)

    async def get_journal(self, req: web.Request, name: str) -> web.Response:
        try:
            lines = int(req.query.get("lines", "10"))
        except ValueError as e:
            raise APIError(400, "lines must be a number") from e
        if self.journal is None:
            raise APIError(404, "this fleetd keeps no journal")
        entries = await self.journal(name, lines)
        if entries is None:
            raise APIError(404, f"unit {name} is not loaded on machine {self.machine_id}")
        return _json(200, {"machineID": self.machine_id, "lines": entries})

    # machines

    async def list_machines(self, req: web.Request) -> web.Response:
        tok = page_token(req.query.getall("nextPageToken", []), self.token_limit)

        async def build() -> list[Any]:
            ks = await self.registry.read("machines")
            return [machine_json(ks.machines[m]) for m in sorted(ks.machines)]

        items = await self._listing(tok, ("machines",), build)
        return _json(200, paginate(items, tok, "machines"))

    async def patch_machines(self, req: web.Request) -> web.Response:
        try:
            ops = json.loads(await req.read())
            if not isinstance(ops, list) or not all(isinstance(o, dict) for o in ops):
                raise ValueError("body must be a JSON array of operations")
        except ValueError as e:
            raise APIError(400, str(e)) from e
        parsed: list[tuple[str, str, str, str]] = []
        for op in ops:
            kind = op.get("op")
            if kind not in ("add", "remove", "replace"):
                raise APIError(400, "invalid op: expect add, remove, or replace")
            m = _METADATA_PATH.match(str(op.get("path", "")))
            if m is None:
                raise APIError(400, "machine metadata path invalid")
            # fleet decoded {"value": {"value": "x"}}; its docs show {"value": "x"}: accept both.
            value = op.get("value")
            if isinstance(value, dict):
                value = value.get("value")
            value = value if isinstance(value, str) else ""
            if kind != "remove" and not value:
                raise APIError(400, "invalid value: add and replace require a value")
            parsed.append((kind, m.group(1), m.group(2), value))
        for kind, machine, key, value in parsed:
            if kind == "remove":
                await self.registry.delete_machine_metadata(machine, key)
            else:
                await self.registry.set_machine_metadata(machine, key, value)
        return _json(204, None)
