"""Users, groups and ssh keys of a machine, kept in its root directory's etc/passwd-like files.

coreos-cloudinit runs `useradd` (creating a user) or `chpasswd` (an existing one: only the
password changes) and `update-ssh-keys -u USER -a coreos-cloudinit`, which stores the keys in
~/.ssh/authorized_keys.d/coreos-cloudinit and regenerates ~/.ssh/authorized_keys from that
directory.
shoal does the same to the text files under the machine's root, never to the host's.

A fresh root starts with CoreOS's own accounts and groups (root, core 500, sudo 150, docker 233 ...)
so configs written for CoreOS (`groups: [sudo, docker]`) find what they expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from shoal.cloudinit.config import User

# CoreOS's base accounts (/usr/share/baselayout/{passwd,group} on Container Linux).
BASE_PASSWD = (
    "root:x:0:0:root:/root:/bin/bash",
    "core:x:500:500:CoreOS Admin:/home/core:/bin/bash",
)
BASE_GROUPS = (
    "root:x:0:root",
    "wheel:x:10:root,core",
    "users:x:100:",
    "sudo:x:150:core",
    "systemd-journal:x:190:core",
    "docker:x:233:core",
    "core:x:500:",
)
FIRST_UID = 1000  # useradd's UID_MIN
FIRST_SYSTEM_UID = 201  # useradd's SYS_UID_MIN on CoreOS
CORE_USER = "core"


@dataclass(slots=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str

    def line(self) -> str:
        return f"{self.name}:x:{self.uid}:{self.gid}:{self.gecos}:{self.home}:{self.shell}"


@dataclass(slots=True)
class GroupEntry:
    name: str
    gid: int
    members: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.name}:x:{self.gid}:{','.join(self.members)}"


@dataclass(slots=True)
class Accounts:
    """The three account files of a machine, edited in memory, written by the apply step."""

    passwd: list[PasswdEntry]
    groups: list[GroupEntry]
    shadow: dict[str, str]  # name -> password hash
    notes: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, passwd: str | None, group: str | None, shadow: str | None) -> Accounts:
        p_lines = passwd.splitlines() if passwd is not None else list(BASE_PASSWD)
        g_lines = group.splitlines() if group is not None else list(BASE_GROUPS)
        users = []
        for ln in p_lines:
            f = ln.split(":")
            if len(f) >= 7 and f[2].isdigit() and f[3].isdigit():
                users.append(PasswdEntry(f[0], int(f[2]), int(f[3]), f[4], f[5], f[6]))
        groups = []
        for ln in g_lines:
            f = ln.split(":")
            if len(f) >= 4 and f[2].isdigit():
                groups.append(GroupEntry(f[0], int(f[2]), [m for m in f[3].split(",") if m]))
        hashes: dict[str, str] = {}
        for ln in (shadow or "").splitlines():
            f = ln.split(":")
            if len(f) >= 2:
                hashes[f[0]] = f[1]
        for u in users:
            hashes.setdefault(u.name, "*")
        return cls(users, groups, hashes)

    def user(self, name: str) -> PasswdEntry | None:
        return next((u for u in self.passwd if u.name == name), None)

    def group(self, name: str) -> GroupEntry | None:
        return next((g for g in self.groups if g.name == name), None)

    def _free_id(self, taken: Sequence[int], start: int) -> int:
        n = start
        used = set(taken)
        while n in used:
            n += 1
        return n

    def ensure_group(self, name: str) -> GroupEntry:
        g = self.group(name)
        if g is None:
            g = GroupEntry(name, self._free_id([x.gid for x in self.groups], FIRST_UID))
            self.groups.append(g)
            self.notes.append(f"created group {name} (gid {g.gid}): it did not exist")
        return g

    def add_or_update(self, u: User) -> None:
        """useradd for a new user, chpasswd for an existing one (other fields then untouched)."""
        existing = self.user(u.name)
        if existing is not None:
            if u.passwd:
                self.shadow[u.name] = u.passwd
            return
        start = FIRST_SYSTEM_UID if u.system else FIRST_UID
        uid = self._free_id([x.uid for x in self.passwd], start)
        if u.primary_group:
            gid = self.ensure_group(u.primary_group).gid
        elif u.no_user_group:
            gid = 100  # useradd's default group "users"
        else:
            taken = [g.gid for g in self.groups]
            gid = uid if uid not in taken else self._free_id(taken, uid)
            self.groups.append(GroupEntry(u.name, gid))
        home = u.homedir or f"/home/{u.name}"
        self.passwd.append(PasswdEntry(u.name, uid, gid, u.gecos, home, u.shell or "/bin/bash"))
        self.shadow[u.name] = u.passwd or "*"
        for gname in u.groups:
            g = self.ensure_group(gname)
            if u.name not in g.members:
                g.members.append(u.name)

    def resolve_owner(self, owner: str) -> tuple[int, int]:
        """`user`, `user:group`, `user.group` or numeric ids -> (uid, gid), else ValueError."""
        sep = ":" if ":" in owner else "." if "." in owner else None
        uname, gname = owner.split(sep, 1) if sep else (owner, "")
        if uname.isdigit():
            uid, gid = int(uname), int(uname)
        else:
            entry = self.user(uname)
            if entry is None:
                raise ValueError(f"owner {owner!r}: no user {uname!r} on this machine")
            uid, gid = entry.uid, entry.gid
        if gname:
            if gname.isdigit():
                gid = int(gname)
            else:
                g = self.group(gname)
                if g is None:
                    raise ValueError(f"owner {owner!r}: no group {gname!r} on this machine")
                gid = g.gid
        return uid, gid

    def files(self) -> dict[str, str]:
        """etc/passwd, etc/group, etc/shadow contents."""
        return {
            "etc/passwd": "".join(u.line() + "\n" for u in self.passwd),
            "etc/group": "".join(g.line() + "\n" for g in self.groups),
            "etc/shadow": "".join(f"{n}:{h}:::::::\n" for n, h in self.shadow.items()),
        }


def home_of(accounts: Accounts, name: str) -> PurePosixPath:
    u = accounts.user(name)
    return PurePosixPath(u.home if u is not None else f"/home/{name}")


def authorized_keys(
    existing: dict[str, str], key_name: str, keys: Sequence[str]
) -> tuple[str, str]:
    """update-ssh-keys: (this key set's file, the regenerated authorized_keys) given the other
    files already in authorized_keys.d (name -> content)."""
    mine = "".join(k.strip() + "\n" for k in keys)
    files = dict(existing)
    files[key_name] = mine
    combined = "".join(
        c if c.endswith("\n") or not c else c + "\n" for c in (files[n] for n in sorted(files))
    )
    return mine, combined
