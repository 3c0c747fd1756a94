"""fleet's HTTP API v1 over a fleetd's unix socket: shapes, pagination, errors, metadata PATCH."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fleet_procs import Etcd, FleetCluster, fleet_cluster

M1, M2 = "1" * 8 + "0" * 24, "2" * 8 + "0" * 24
HELLO = [{"section": "Service", "name": "ExecStart", "value": "/bin/sleep 3"}]


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(
    c: FleetCluster,
    method: str,
    path: str,
    body: Any = None,
    ctype: str | None = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    conn = UnixHTTP(c.any().socket)
    headers = {"Content-Type": ctype} if ctype and body is not None else {}
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, json.loads(raw) if raw else None, dict(r.getheaders())


@pytest.fixture(scope="module")
def api(etcd: Etcd) -> Iterator[FleetCluster]:
    machines = {M1: "role=web", M2: "role=db"}
    with fleet_cluster(etcd.url, machines, token_limit="2", public_ip="127.0.0.7") as c:
        yield c


def test_machines_shape_and_server_header(api: FleetCluster) -> None:
    code, body, headers = call(api, "GET", "/fleet/v1/machines")
    assert code == 200 and headers["Server"] == "fleetd/1.0.0"
    assert body == {
        "machines": [
            {"id": M1, "primaryIP": "127.0.0.7", "metadata": {"role": "web"}},
            {"id": M2, "primaryIP": "127.0.0.7", "metadata": {"role": "db"}},
        ]
    }


def test_unit_lifecycle_and_messages(api: FleetCluster) -> None:
    assert call(api, "GET", "/fleet/v1/units/a.service")[:2] == (
        404,
        {"error": {"code": 404, "message": "unit does not exist"}},
    )
    code, body, _ = call(api, "PUT", "/fleet/v1/units/a.service", {"desiredState": "launched"})
    assert (code, body["error"]["message"]) == (409, "unit does not exist and options field empty")
    code, body, _ = call(api, "PUT", "/fleet/v1/units/a.service", {"options": HELLO}, ctype=None)
    assert (code, body["error"]["message"]) == (415, "expected 1 Content-Type, got 0")
    code, body, _ = call(
        api, "PUT", "/fleet/v1/units/a.service", {"options": HELLO}, ctype="text/plain"
    )
    assert (code, body["error"]["message"]) == (
        415,
        "only acceptable Content-Type is application/json",
    )
    code, body, _ = call(api, "PUT", "/fleet/v1/units/a.service", {"name": "b.service"})
    assert code == 400 and body["error"]["message"] == (
        'name in URL "a.service" differs from unit name in request body "b.service"'
    )
    code, body, _ = call(api, "PUT", "/fleet/v1/units/a.foo", {"options": HELLO})
    assert (code, body["error"]["message"]) == (400, 'invalid unit type: "foo"')
    bad = [*HELLO, {"section": "X-Fleet", "name": "MachineID", "value": "x"}]
    bad.append({"section": "X-Fleet", "name": "Global", "value": "true"})
    code, body, _ = call(api, "PUT", "/fleet/v1/units/a.service", {"options": bad})
    assert (code, body["error"]["message"]) == (400, "MachineID cannot be used with Global")

    assert call(api, "PUT", "/fleet/v1/units/a.service", {"options": HELLO})[0] == 201
    code, body, _ = call(api, "GET", "/fleet/v1/units/a.service")
    assert body == {
        "name": "a.service",
        "options": HELLO,
        "desiredState": "inactive",
        "currentState": "inactive",
    }
    code, body, _ = call(api, "PUT", "/fleet/v1/units/a.service", {"options": HELLO})
    assert (code, body["error"]["message"]) == (
        409,
        "must provide DesiredState to update existing unit",
    )
    assert call(api, "PUT", "/fleet/v1/units/a.service", {"desiredState": "loaded"})[0] == 204
    assert call(api, "DELETE", "/fleet/v1/units/a.service")[0] == 204
    assert call(api, "DELETE", "/fleet/v1/units/a.service")[0] == 404


def test_template_cannot_be_activated(api: FleetCluster) -> None:
    assert call(api, "PUT", "/fleet/v1/units/t@.service", {"options": HELLO})[0] == 201
    code, body, _ = call(api, "PUT", "/fleet/v1/units/t@.service", {"desiredState": "launched"})
    assert (code, body["error"]["message"]) == (400, 'cannot activate template "t@.service"')
    call(api, "DELETE", "/fleet/v1/units/t@.service")


def test_pagination_and_bad_tokens(api: FleetCluster) -> None:
    for i in range(5):
        call(api, "PUT", f"/fleet/v1/units/p{i}.service", {"options": HELLO})
    names: list[str] = []
    path = "/fleet/v1/units"
    pages = 0
    while True:
        code, body, _ = call(api, "GET", path)
        assert code == 200
        names += [u["name"] for u in body.get("units", [])]
        pages += 1
        if "nextPageToken" not in body:
            break
        path = "/fleet/v1/units?nextPageToken=" + body["nextPageToken"]
    assert names == [f"p{i}.service" for i in range(5)] and pages == 3
    code, body, _ = call(api, "GET", "/fleet/v1/machines?nextPageToken=AQACAA==")  # limit 1
    assert (code, body["error"]["message"]) == (400, "token limit must be 2")
    code, body, _ = call(api, "GET", "/fleet/v1/units?nextPageToken=AgAAAA==")  # page 0
    assert (code, body["error"]["message"]) == (400, "token page must be greater than zero")
    assert call(api, "GET", "/fleet/v1/state?nextPageToken=%%%")[0] == 400
    for i in range(5):
        call(api, "DELETE", f"/fleet/v1/units/p{i}.service")


def test_machine_metadata_patch(api: FleetCluster) -> None:
    ops = [
        {"op": "add", "path": f"/{M1}/metadata/disk", "value": {"value": "ssd"}},  # fleet's shape
        {"op": "replace", "path": f"/{M1}/metadata/role", "value": "api"},  # its docs' shape
        {"op": "remove", "path": f"/{M2}/metadata/role"},
    ]
    assert call(api, "PATCH", "/fleet/v1/machines", ops)[0] == 204
    _, body, _ = call(api, "GET", "/fleet/v1/machines")
    assert [m.get("metadata") for m in body["machines"]] == [{"role": "api", "disk": "ssd"}, None]
    _rc, out, _ = api.ctl("list-machines", "--no-legend", "--fields=metadata")
    assert out == "disk=ssd,role=api\n-\n"
    for bad, message in [
        (
            [{"op": "noop", "path": f"/{M1}/metadata/x", "value": "y"}],
            "invalid op: expect add, remove, or replace",
        ),
        ([{"op": "add", "path": f"/{M1}/x", "value": "y"}], "machine metadata path invalid"),
        (
            [{"op": "add", "path": f"/{M1}/metadata/x"}],
            "invalid value: add and replace require a value",
        ),
    ]:
        code, body, _ = call(api, "PATCH", "/fleet/v1/machines", bad)
        assert (code, body["error"]["message"]) == (400, message)
    restore = [
        {"op": "replace", "path": f"/{M1}/metadata/role", "value": "web"},
        {"op": "remove", "path": f"/{M1}/metadata/disk"},
        {"op": "add", "path": f"/{M2}/metadata/role", "value": "db"},
    ]
    assert call(api, "PATCH", "/fleet/v1/machines", restore)[0] == 204


def test_unknown_paths_and_methods(api: FleetCluster) -> None:
    assert call(api, "GET", "/nope")[:2] == (404, {"error": {"code": 404, "message": ""}})
    assert call(api, "GET", "/")[0] == 405
    code, body, _ = call(api, "POST", "/fleet/v1/machines", [])
    assert (code, body["error"]["message"]) == (
        405,
        "only GET and PATCH supported against this resource",
    )
    code, body, _ = call(api, "DELETE", "/fleet/v1/units")
    assert (code, body["error"]["message"]) == (405, "only GET supported against this resource")
    code, body, _ = call(api, "GET", "/fleet/v1/discovery")
    assert code == 200 and body["name"] == "fleet" and "Units" in body["resources"]
    assert call(api, "GET", "/v1-alpha/machines")[0] == 200


def test_state_filters(api: FleetCluster) -> None:
    rc, _, err = api.ctl(
        "start", "--block-attempts=10", api.unit_file("s.service", "MachineMetadata=role=db")
    )
    assert rc == 0, err
    code, body, _ = call(api, "GET", f"/fleet/v1/state?machineID={M2}")
    assert [s["name"] for s in body["states"]] == ["s.service"]
    assert body["states"][0]["systemdActiveState"] == "active"
    code, body, _ = call(api, "GET", f"/fleet/v1/state?machineID={M1}")
    assert (code, body) == (200, {})
    api.ctl("destroy", "s.service")


def test_dynamic_metadata_steers_scheduling(api: FleetCluster) -> None:
    ops = [{"op": "add", "path": f"/{M1}/metadata/gpu", "value": "yes"}]
    assert call(api, "PATCH", "/fleet/v1/machines", ops)[0] == 204
    rc, _, err = api.ctl(
        "start", "--block-attempts=10", api.unit_file("g.service", "MachineMetadata=gpu=yes")
    )
    assert rc == 0, err
    assert api.placement()["g.service"][0] == M1
    api.ctl("destroy", "g.service")
    call(api, "PATCH", "/fleet/v1/machines", [{"op": "remove", "path": f"/{M1}/metadata/gpu"}])
