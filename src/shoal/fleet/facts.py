"""fleet's facts: key names, defaults, states and messages, copied from coreos/fleet (v1.0.0).

Each constant names where it comes from so a reader can check it against the source. Nothing here
is shoal's own choice except where a comment says "shoal".
"""

from __future__ import annotations

from typing import Final

# version/version.go: the version fleetd writes into its machine object and fleetctl prints.
FLEET_VERSION: Final = "1.0.0"

# registry/registry.go DefaultKeyPrefix; the sub-keys from registry/{job,unit,machine,...}.go.
DEFAULT_KEY_PREFIX: Final = "/_coreos.com/fleet/"
JOB_DIR: Final = "job"  # job/<unit>/{object,target,target-state,job-state}
UNIT_DIR: Final = "unit"  # unit/<sha1-hex> -> {"Raw": "<unit text>"}
STATES_DIR: Final = "states"  # states/<unit>/<machineID> -> unit state JSON
MACHINES_DIR: Final = "machines"  # machines/<id>/object, machines/<id>/metadata/<key>
LEASE_DIR: Final = "lease"  # pkg/lease/etcd.go
ENGINE_LEASE_NAME: Final = "engine-leader"  # engine/engine.go engineLeaseName
ENGINE_VERSION: Final = 1  # engine/engine.go engineVersion, stored in the lease value

# job/job.go JobState: the desired state of a unit, one step at a time.
STATE_INACTIVE: Final = "inactive"
STATE_LOADED: Final = "loaded"
STATE_LAUNCHED: Final = "launched"
JOB_STATES: Final = (STATE_INACTIVE, STATE_LOADED, STATE_LAUNCHED)

# fleetd/fleetd.go option defaults.
DEFAULT_ETCD_SERVERS: Final = ("http://127.0.0.1:2379", "http://127.0.0.1:4001")
DEFAULT_ETCD_REQUEST_TIMEOUT: Final = 1.0
DEFAULT_ENGINE_RECONCILE_INTERVAL: Final = 2.0
DEFAULT_AGENT_TTL: Final = "30s"  # agent/agent.go DefaultTTL
DEFAULT_TOKEN_LIMIT: Final = 100
DEFAULT_UNITS_DIRECTORY: Final = "/run/fleet/units/"
# engine/engine.go: the leader lease lives for this many reconcile intervals.
ENGINE_LEASE_INTERVALS: Final = 5
# agent/reconcile.go reconcileInterval: the agent also reconciles on this period without events.
AGENT_RECONCILE_INTERVAL: Final = 5.0

# fleetctl/fleetctl.go defaultEndpoint.
DEFAULT_ENDPOINT: Final = "unix:///var/run/fleet.sock"
DEFAULT_REQUEST_TIMEOUT: Final = 3.0

# api/mux.go: the API lives under this prefix (and the older /v1-alpha).
API_PREFIXES: Final = ("/fleet/v1", "/v1-alpha")
# api/server.go unavailableHdlr.
MSG_ETCD_UNAVAILABLE: Final = "fleet server unable to communicate with etcd"

# [X-Fleet] option names (job/job.go), with the deprecated X-/X-Condition spellings.
XF_MACHINE_ID: Final = "MachineID"
XF_MACHINE_OF: Final = "MachineOf"
XF_MACHINE_METADATA: Final = "MachineMetadata"
XF_CONFLICTS: Final = "Conflicts"
XF_GLOBAL: Final = "Global"
XF_REPLACES: Final = "Replaces"
XF_SECTION: Final = "X-Fleet"
DEPRECATED_MACHINE_ID: Final = ("X-ConditionMachineID", "X-ConditionMachineBootID")
DEPRECATED_MACHINE_OF: Final = "X-ConditionMachineOf"
DEPRECATED_MACHINE_METADATA: Final = "X-ConditionMachineMetadata"
DEPRECATED_CONFLICTS: Final = "X-Conflicts"
VALID_REQUIREMENTS: Final = frozenset(
    {
        XF_MACHINE_ID,
        XF_MACHINE_OF,
        XF_MACHINE_METADATA,
        XF_CONFLICTS,
        XF_GLOBAL,
        XF_REPLACES,
        DEPRECATED_MACHINE_OF,
        DEPRECATED_MACHINE_METADATA,
        DEPRECATED_CONFLICTS,
        *DEPRECATED_MACHINE_ID,
    }
)
# job/job.go isTruthyValue.
TRUTHY: Final = frozenset({"true", "yes", "1", "on", "t"})

# api/units.go ValidateName.
UNIT_NAME_MAX: Final = 256
UNIT_NAME_CHARS: Final = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + ":-_.\\@"
)
VALID_UNIT_TYPES: Final = frozenset(
    {
        "automount",
        "busname",
        "device",
        "mount",
        "path",
        "scope",
        "service",
        "slice",
        "snapshot",
        "socket",
        "swap",
        "target",
        "timer",
    }
)
VALID_TEMPLATE_TYPES: Final = frozenset({"path", "service", "socket", "target", "timer"})
# unit/unit.go RecognizedUnitType: fleetctl appends ".service" to other names.
RECOGNIZED_UNIT_TYPES: Final = (
    "service",
    "socket",
    "timer",
    "path",
    "device",
    "mount",
    "automount",
)

# machine/machine.go shortIDLen: IDs are shown (and matched in MachineID) by this prefix.
SHORT_ID_LEN: Final = 8
# go-systemd unit/deserialize.go SYSTEMD_LINE_MAX.
SYSTEMD_LINE_MAX: Final = 2048
