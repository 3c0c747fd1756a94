"""Placement, as pure functions of a cluster snapshot: fleet's least-loaded scheduler and the
engine's reconcile plan (engine/scheduler.go, engine/reconciler.go, agent/state.go AbleToRun).

No I/O here: the engine feeds a `Cluster` in and executes the `Task`s that come out, and
`fleetctl why` uses `explain` on the same data, so what it prints is what the engine decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from shoal.fleet import facts
from shoal.fleet.unit import Requirements, glob_match, metadata_mismatch


@dataclass(frozen=True)
class Machine:
    id: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    def matches_id(self, wanted: str) -> bool:
        """machine/state.go MatchID: the full ID or its 8-character short form."""
        return wanted in (self.id, self.id[: facts.SHORT_ID_LEN])


@dataclass(frozen=True)
class Job:
    """A non-global unit as the engine sees it: what it needs, what is wanted, where it is."""

    name: str
    requirements: Requirements
    target_state: str = facts.STATE_LAUNCHED
    target: str = ""  # machine ID it is scheduled to, "" when unscheduled


@dataclass(frozen=True)
class Cluster:
    machines: Sequence[Machine]
    jobs: Sequence[Job]
    global_units: Sequence[Job] = ()


class Action(Enum):
    SCHEDULE = "schedule"  # the machine can run the job
    UNSCHEDULE = "unschedule"  # it cannot
    RESCHEDULE = "reschedule"  # it can, once a unit the job replaces has moved away


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str = ""
    replaced: str = ""  # with RESCHEDULE: the unit to move away


@dataclass(frozen=True)
class Task:
    kind: str  # "schedule" | "unschedule"
    job: str
    machine: str
    reason: str


class Host(dict[str, Requirements]):
    """The units scheduled to one machine, indexed by who has Conflicts/Replaces, so checking a
    candidate costs O(units with such options) rather than O(units): with hundreds of plain units
    per machine the engine's round stays cheap."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicting: dict[str, Requirements] = {}
        self.replacing: dict[str, Requirements] = {}

    def __setitem__(self, name: str, req: Requirements) -> None:
        super().__setitem__(name, req)
        if req.conflicts:
            self.conflicting[name] = req
        if req.replaces:
            self.replacing[name] = req

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name)
        self.conflicting.pop(name, None)
        self.replacing.pop(name, None)

    def pop(self, name: str, default: Requirements | None = None) -> Requirements | None:  # type: ignore[override]
        if name in self:
            req = self[name]
            del self[name]
            return req
        return default

    @staticmethod
    def of(local: Mapping[str, Requirements]) -> Host:
        if isinstance(local, Host):
            return local
        h = Host()
        for k, v in local.items():
            h[k] = v
        return h


def has_conflict(
    name: str, conflicts: Sequence[str], local: Mapping[str, Requirements]
) -> str | None:
    """agent/state.go HasConflict: a local unit conflicting either way, or None."""
    host = Host.of(local)
    for other, req in host.conflicting.items():
        if other != name and any(glob_match(p, name) for p in req.conflicts):
            return other
    if conflicts:
        for other in host:
            if other != name and any(glob_match(p, other) for p in conflicts):
                return other
    return None


def _replace_relation(
    name: str, replaces: Sequence[str], local: Mapping[str, Requirements]
) -> tuple[str, str]:
    """(a local unit this job replaces, a local unit that replaces this job); "" when none.

    fleet (agent/state.go hasReplace) treated both directions alike, so whichever unit its map
    iteration met first moved; shoal keeps the documented meaning: the replacing unit stays and
    the replaced one moves. Mutual Replaces cancel out, as in fleet.
    """
    host = Host.of(local)
    theirs = {
        o for o, req in host.replacing.items() if any(glob_match(p, name) for p in req.replaces)
    }
    theirs.discard(name)
    replaced = ""
    if replaces:
        for other in sorted(host):
            if (
                other != name
                and other not in theirs
                and any(glob_match(p, other) for p in replaces)
            ):
                replaced = other
                break
    mine_set = {o for o in host if replaces and any(glob_match(p, o) for p in replaces)}
    replacer = next((o for o in sorted(theirs) if o not in mine_set), "")
    return replaced, replacer


def able_to_run(machine: Machine, local: Mapping[str, Requirements], job: Job) -> Verdict:
    """agent/state.go AbleToRun, checks in fleet's order: MachineID, metadata, peers, conflicts,
    replaces. `local` holds the units scheduled to the machine (with their requirements)."""
    req = job.requirements
    if req.machine_id and not machine.matches_id(req.machine_id):
        return Verdict(
            Action.UNSCHEDULE, f'agent ID "{machine.id}" does not match required "{req.machine_id}"'
        )
    if req.metadata:
        why = metadata_mismatch(machine.metadata, req.metadata)
        if why:
            return Verdict(Action.UNSCHEDULE, f"local Machine metadata insufficient: {why}")
    for peer in req.peers:
        if peer not in local:
            return Verdict(
                Action.UNSCHEDULE, f"required peer Unit({peer}) is not scheduled locally"
            )
    other = has_conflict(job.name, req.conflicts, local)
    if other is not None:
        return Verdict(Action.UNSCHEDULE, f"found conflict with locally-scheduled Unit({other})")
    replaced, replacer = _replace_relation(job.name, req.replaces, local)
    if replacer:
        return Verdict(Action.UNSCHEDULE, f"replaced by locally-scheduled Unit({replacer})")
    if replaced:
        return Verdict(
            Action.RESCHEDULE, f"found replace with locally-scheduled Unit({replaced})", replaced
        )
    return Verdict(Action.SCHEDULE)


class _State:
    """The plan's working copy: which units each live machine holds, updated as tasks are made."""

    def __init__(self, cluster: Cluster) -> None:
        self.machines = {m.id: m for m in cluster.machines}
        self.jobs = {j.name: j for j in cluster.jobs}
        self.target = {j.name: j.target for j in cluster.jobs}
        self.local: dict[str, Host] = {m: Host() for m in self.machines}
        for j in cluster.jobs:
            if j.target and j.target_state != facts.STATE_INACTIVE and j.target in self.local:
                self.local[j.target][j.name] = j.requirements
        # Global units count towards a machine's load wherever they would run (engine/state.go).
        for g in cluster.global_units:
            for m in self.machines.values():
                units = self.local[m.id]
                if metadata_mismatch(m.metadata, g.requirements.metadata):
                    continue
                if has_conflict(g.name, g.requirements.conflicts, units) is not None:
                    continue
                units[g.name] = g.requirements

    def sorted_machines(self) -> list[Machine]:
        """engine/scheduler.go sortedAgents: fewest units first, ties broken by machine ID."""
        return sorted(self.machines.values(), key=lambda m: (len(self.local[m.id]), m.id))

    def schedule(self, name: str, machine: str) -> None:
        self.target[name] = machine
        self.local[machine][name] = self.jobs[name].requirements

    def unschedule(self, name: str) -> None:
        old = self.target.get(name, "")
        if old in self.local:
            self.local[old].pop(name, None)
        self.target[name] = ""

    def decide(self, job: Job, exclude: str = "") -> tuple[str, Verdict] | None:
        """The least-loaded machine able to run the job; a machine hosting a unit it replaces is
        preferred (shoal: fleet's doc says the replacing unit takes that host)."""
        fallback: tuple[str, Verdict] | None = None
        for m in self.sorted_machines():
            if m.id == exclude:
                continue
            v = able_to_run(m, self.local[m.id], job)
            if v.action is Action.RESCHEDULE:
                return m.id, v
            if v.action is Action.SCHEDULE and fallback is None:
                fallback = (m.id, v)
        return fallback


def plan(cluster: Cluster) -> list[Task]:
    """One engine round: unschedule what can no longer run where it is, then place the rest."""
    st = _State(cluster)
    tasks: list[Task] = []

    def move_replaced(replaced: str, machine: str, reason: str) -> None:
        tasks.append(Task("unschedule", replaced, machine, reason))
        st.unschedule(replaced)
        rj = st.jobs.get(replaced)
        if rj is None:
            return
        dec = st.decide(rj, exclude=machine)
        if dec is not None:
            tasks.append(Task("schedule", replaced, dec[0], reason))
            st.schedule(replaced, dec[0])

    for j in sorted(cluster.jobs, key=lambda j: j.name):
        target = st.target[j.name]
        if not target or target != j.target:
            continue  # unscheduled, or already moved this round by a Replaces
        if j.target_state == facts.STATE_INACTIVE:
            reason = "target state inactive"
        elif target not in st.machines:
            reason = f"target Machine({target}) went away"
        else:
            v = able_to_run(st.machines[target], st.local[target], j)
            if v.action is Action.SCHEDULE:
                continue
            if v.action is Action.RESCHEDULE:
                move_replaced(v.replaced, target, v.reason)
                continue
            reason = f"target Machine({target}) unable to run unit: {v.reason}"
        tasks.append(Task("unschedule", j.name, target, reason))
        st.unschedule(j.name)

    # Units without MachineOf first, so their peers can follow them in the same round.
    pending = [j for j in cluster.jobs if not st.target[j.name]]
    pending.sort(key=lambda j: (bool(j.requirements.peers), j.name))
    for j in pending:
        if j.target_state == facts.STATE_INACTIVE:
            continue
        dec = st.decide(j)
        if dec is None:
            continue
        machine, v = dec
        tasks.append(
            Task(
                "schedule", j.name, machine, f"target state {j.target_state} and unit not scheduled"
            )
        )
        st.schedule(j.name, machine)
        if v.action is Action.RESCHEDULE:
            move_replaced(v.replaced, machine, v.reason)
    return tasks


def explain(cluster: Cluster, name: str) -> list[tuple[str, str]]:
    """For `fleetctl why`: machine by machine (in scheduling order), why the unit is or is not
    placed there. Unknown unit -> empty list."""
    st = _State(cluster)
    globals_ = {g.name: g for g in cluster.global_units}
    out: list[tuple[str, str]] = []
    if name in globals_:
        g = globals_[name]
        for m in sorted(st.machines.values(), key=lambda m: m.id):
            why = metadata_mismatch(m.metadata, g.requirements.metadata)
            other = has_conflict(g.name, g.requirements.conflicts, st.local[m.id])
            if why:
                out.append((m.id, f"does not run this global unit: {why}"))
            elif other is not None:
                out.append((m.id, f"does not run this global unit: conflicts with Unit({other})"))
            else:
                out.append((m.id, "runs this global unit (its metadata matches)"))
        return out
    job = st.jobs.get(name)
    if job is None:
        return out
    if job.target_state == facts.STATE_INACTIVE:
        note = " (desired state inactive: the engine does not place it)"
    else:
        note = ""
    chosen = st.target[name]
    if chosen:
        st.unschedule(name)  # judge every machine as if the unit were being placed now
    first_able = ""
    for m in st.sorted_machines():
        v = able_to_run(m, st.local[m.id], job)
        load = len(st.local[m.id])
        if m.id == chosen:
            out.append((m.id, f"scheduled here{note}"))
        elif v.action is Action.UNSCHEDULE:
            out.append((m.id, f"unable: {v.reason}"))
        else:
            extra = f"; would move Unit({v.replaced}) away" if v.replaced else ""
            if not chosen and not first_able and not note:
                first_able = m.id
                out.append((m.id, f"able, least loaded ({load} units): chosen next round{extra}"))
            else:
                out.append((m.id, f"able ({load} units){extra}{note}"))
    return out


def global_units_for(
    machine: Machine, globals_: Iterable[Job], local: Mapping[str, Requirements]
) -> list[str]:
    """agent/reconcile.go desiredAgentState: the global units this machine runs itself."""
    units = dict(local)
    out = []
    for g in sorted(globals_, key=lambda g: g.name):
        if g.target_state == facts.STATE_INACTIVE:
            continue
        if metadata_mismatch(machine.metadata, g.requirements.metadata):
            continue
        if has_conflict(g.name, g.requirements.conflicts, units) is not None:
            continue
        units[g.name] = g.requirements
        out.append(g.name)
    return out
