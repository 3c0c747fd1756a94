"""The dashboard's server: it watches the cluster (each member probed on its own, a few times a
second; fleet once a second) and serves the page, its state as JSON (`/api/state`) and as
server-sent events (`/api/events`, pushed whenever something changed), and the buttons
(`POST /api/action`), `fleetctl why` (`/api/why`) and journal tails (`/api/journal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from shoal.cluster.layout import ClusterError
from shoal.dashboard import fleetview, probe
from shoal.dashboard.local import ActionError, LocalCluster
from shoal.dashboard.timeline import Timeline

STATIC = Path(__file__).with_name("static")
PROBE_INTERVAL = 0.3  # seconds between two looks at one member
MEMBERS_INTERVAL = 1.0  # between two reads of the member list
FLEET_INTERVAL = 1.0
PUBLISH_INTERVAL = 0.2  # how often the state is rebuilt and, when changed, pushed
KEEPALIVE = 10.0


class Dashboard:
    """Watches one cluster: etcd `endpoints` (client URLs), fleet API `fleet_endpoints`, and
    for a local cluster its machines and actions."""

    def __init__(
        self,
        endpoints: list[str],
        fleet_endpoints: list[str],
        local: LocalCluster | None = None,
        fetcher: probe.Fetcher | None = None,
        title: str = "",
    ) -> None:
        self.endpoints = endpoints
        self.fleet_endpoints = fleet_endpoints
        self.local = local
        self.fetch = fetcher if fetcher is not None else probe.HTTPFetcher()
        self.title = title or ", ".join(endpoints)
        self.timeline = Timeline()
        self.members: list[probe.MemberView] = []
        self.members_error = ""
        self.views: dict[str, probe.MemberView] = {}  # latest look, by member key
        self.fleet = fleetview.FleetView(error="not read yet")
        self.state: dict[str, Any] = {}
        self.state_text = "{}"
        self.url = ""  # where the page is served, once listening
        self.version = 0
        self._changed = asyncio.Condition()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._probers: dict[str, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ watching
    async def start(self) -> None:
        if self.local is not None:
            self.members = [
                probe.MemberView("", m.etcd_name, [m.peer_url], [m.client_url])
                for m in self.local.cluster.machines
            ]
        self._tasks = [
            asyncio.create_task(self._members_loop()),
            asyncio.create_task(self._fleet_loop()),
            asyncio.create_task(self._publish_loop()),
        ]

    async def stop(self) -> None:
        for t in [*self._tasks, *self._probers.values()]:
            t.cancel()
        for t in [*self._tasks, *self._probers.values()]:
            with contextlib.suppress(BaseException):
                await t
        await self.fetch.close()

    @staticmethod
    def _key(m: probe.MemberView) -> str:
        return m.name or m.id

    async def _members_loop(self) -> None:
        while True:
            got = await probe.membership(self.fetch, self._all_endpoints())
            if self.local is not None:
                # A member that has not published its name yet is still the machine whose peer
                # URL it has: keep calling it by that name, so its history reads as one.
                for m in got.members:
                    lm = self.local.machine_for(m.name, m.client_urls, m.peer_urls)
                    if not m.name and lm is not None:
                        m.name = lm.etcd_name
            if got.members:
                self.members, self.members_error = got.members, ""
            else:
                self.members_error = got.error
            keys = {self._key(m) for m in self.members}
            for k in list(self._probers):
                if k not in keys:
                    self._probers.pop(k).cancel()
                    self.views.pop(k, None)
            for m in self.members:
                k = self._key(m)
                if k not in self._probers:
                    self._probers[k] = asyncio.create_task(self._probe_loop(k))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), MEMBERS_INTERVAL)
            self._wake.clear()

    def _all_endpoints(self) -> list[str]:
        seen = list(self.endpoints)
        for m in self.members:
            seen += [u for u in m.client_urls if u not in seen]
        return seen

    def _member(self, key: str) -> probe.MemberView | None:
        return next((m for m in self.members if self._key(m) == key), None)

    async def _probe_loop(self, key: str) -> None:
        while True:
            m = self._member(key)
            if m is None:
                return
            fresh = probe.MemberView(m.id, m.name, m.peer_urls, m.client_urls)
            url = None
            if not fresh.client_urls and self.local is not None:
                lm = self.local.machine_for(m.name, [], m.peer_urls)
                url = lm.client_url if lm is not None else None
            self.views[key] = await probe.probe_member(self.fetch, fresh, url)
            await asyncio.sleep(PROBE_INTERVAL)

    async def _fleet_loop(self) -> None:
        while True:
            if self.fleet_endpoints:
                self.fleet = await fleetview.read(self.fleet_endpoints)
            else:
                self.fleet = fleetview.FleetView(error="no fleet endpoint given (--fleet-endpoint)")
            await asyncio.sleep(FLEET_INTERVAL)

    async def _publish_loop(self) -> None:
        while True:
            self._rebuild()
            await asyncio.sleep(PUBLISH_INTERVAL)

    def refresh_soon(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ the state
    def _rebuild(self) -> None:
        members = []
        for m in self.members:
            v = self.views.get(self._key(m), m)
            j = v.to_json()
            if self.local is not None:
                lm = self.local.machine_for(m.name, m.client_urls, m.peer_urls)
                j["machine"] = lm.name if lm is not None else ""
                if lm is not None and not v.reachable:
                    j["error"] = self.local.down_reason(lm) or j["error"] or "not probed yet"
            members.append(j)
        size = len(members)
        healthy = sum(1 for m in members if m["healthy"])
        quorum = size // 2 + 1
        by_id = {m["id"]: m["name"] or m["id"] for m in members}
        leaders = sorted({by_id.get(m["id"], m["id"]) for m in members if m["role"] == "leader"})
        leader = leaders[0] if len(leaders) == 1 and healthy >= quorum else ""
        if size and healthy == size:
            verdict, level = "healthy", "ok"
        elif size and healthy >= quorum:
            verdict, level = f"degraded: {healthy} of {size} members healthy", "warn"
        else:
            verdict = f"NO QUORUM: {healthy} of {size} members healthy, {quorum} needed"
            level = "bad"
        # Until every member has been looked at once there is nothing to tell yet.
        if all(self._key(m) in self.views for m in self.members):
            self._observe(leader, members, verdict, level)
        state = {
            "title": self.title,
            "cluster": {
                "verdict": verdict,
                "level": level,
                "size": size,
                "healthy": healthy,
                "quorum": quorum,
                "leader": leader,
                "membersError": self.members_error,
            },
            "members": members,
            "fleet": self.fleet.to_json(),
            "timeline": self.timeline.to_json(),
            "local": None
            if self.local is None
            else {"dir": str(self.local.cluster.dir), "machines": self.local.machines_json()},
        }
        text = json.dumps(state, separators=(",", ":"))
        if text != self.state_text:
            self.state, self.state_text = state, text
            self.version += 1
            asyncio.get_running_loop().create_task(self._notify())

    def _observe(
        self, leader: str, members: list[dict[str, Any]], verdict: str, level: str
    ) -> None:
        health = {
            m["name"] or m["id"]: "healthy" if m["healthy"] else m["error"] or "unhealthy"
            for m in members
        }
        self.timeline.observe(leader, health, verdict, level)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_change(self, version: int, timeout: float) -> None:
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version != version), timeout
                )


# ---------------------------------------------------------------------- HTTP
def make_app(dash: Dashboard) -> web.Application:
    app = web.Application()
    app["dash"] = dash

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def state(request: web.Request) -> web.Response:
        return web.Response(text=dash.state_text, content_type="application/json")

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        version = -1
        try:
            while True:
                if dash.version != version:
                    version = dash.version
                    await resp.write(f"data: {dash.state_text}\n\n".encode())
                else:
                    await resp.write(b": keepalive\n\n")
                await dash.wait_change(version, KEEPALIVE)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return resp

    async def action(request: web.Request) -> web.Response:
        if dash.local is None:
            return _error(400, "actions need a local cluster (shoal dashboard --dir DIR)")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, 'the body must be JSON: {"action": ..., "machine": ...}')
        act, machine = str(body.get("action", "")), body.get("machine")
        try:
            out = await dash.local.act(act, str(machine) if machine else None)
        except (ActionError, ClusterError) as e:
            dash.timeline.add("action", f"{act} {machine or ''}: failed: {e}", "bad")
            return _error(400, str(e))
        dash.timeline.add("action", f"shoal {act} {machine or ''}".strip(), "ok")
        dash.refresh_soon()
        return web.json_response({"ok": True, "output": out})

    async def why(request: web.Request) -> web.Response:
        unit = request.query.get("unit", "")
        if not unit or not dash.fleet_endpoints:
            return _error(400, "give ?unit=NAME (and the cluster needs a fleet endpoint)")
        endpoint = dash.fleet.endpoint or dash.fleet_endpoints[0]
        return web.json_response({"text": await fleetview.why(endpoint, unit)})

    async def journal(request: web.Request) -> web.Response:
        unit = request.query.get("unit", "")
        if not unit:
            return _error(400, "give ?unit=NAME")
        eps = list(dash.fleet_endpoints)
        ip = request.query.get("ip", "")
        if dash.local is not None and ip:
            # The unit's journal lives on its machine: ask that machine's fleet API first.
            first = _local_socket_of(dash.local, ip)
            eps.sort(key=lambda e: 0 if e == first else 1)
        return web.json_response({"lines": await fleetview.journal(eps, unit)})

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/state", state)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/action", action)
    app.router.add_get("/api/why", why)
    app.router.add_get("/api/journal", journal)
    return app


def _local_socket_of(local: LocalCluster, ip: str) -> str:
    for m in local.cluster.machines:
        if m.address == ip:
            return f"unix://{m.fleet_socket}"
    return ""


def _error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


async def serve(dash: Dashboard, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled; prints the URL once listening."""
    await dash.start()
    runner = web.AppRunner(make_app(dash), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        dash.url = f"http://{bound[0]}:{bound[1]}/"
        print(f"dashboard: {dash.url}", flush=True)
        if ready is not None:
            ready.set()
        while True:
            await asyncio.sleep(3600)
    finally:
        await runner.cleanup()
        await dash.stop()
