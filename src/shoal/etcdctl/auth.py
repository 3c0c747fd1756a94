"""user, role and auth commands (v2 auth; ctlv2/command/{user,role,auth}_commands.go).

Failures print the server's message (or the cluster error) on stderr and exit 1. Passwords
come from `user:password` arguments or a prompt on the terminal, as etcdctl's.
"""

from __future__ import annotations

from shoal.client import ClientError
from shoal.client.auth import AuthAPI, Permission
from shoal.etcdctl.context import Context
from shoal.etcdctl.spec import EXIT_BAD_ARGS, Exit


def _die(ctx: Context, message: str) -> Exit:
    ctx.err.write(message + "\n")
    return Exit(EXIT_BAD_ARGS)


def _no_args(ctx: Context) -> None:
    if ctx.args:
        raise _die(ctx, "No arguments accepted")


def _one(ctx: Context, what: str) -> str:
    if len(ctx.args) != 1:
        raise _die(ctx, f"Please provide a {what}")
    return ctx.args[0]


async def _api(ctx: Context) -> AuthAPI:
    client = await ctx.synced_client()
    if ctx.opts.get_bool("debug"):
        ctx.err.write(f"Cluster-Endpoints: {', '.join(client.endpoints)}\n")
    return AuthAPI(client)


def _password(ctx: Context, prompt: str) -> str:
    return ctx.ask_password(prompt)


async def auth_enable(ctx: Context) -> None:
    await _enable(ctx, True)


async def auth_disable(ctx: Context) -> None:
    await _enable(ctx, False)


async def _enable(ctx: Context, on: bool) -> None:
    _no_args(ctx)
    api = await _api(ctx)
    try:
        await (api.enable() if on else api.disable())
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write("Authentication Enabled\n" if on else "Authentication Disabled\n")


async def user_list(ctx: Context) -> None:
    _no_args(ctx)
    api = await _api(ctx)
    try:
        users = await api.list_users()
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write("".join(f"{u}\n" for u in users))


async def user_add(ctx: Context) -> None:
    arg = _one(ctx, "username")
    api = await _api(ctx)
    try:
        name, sep, password = arg.partition(":")
        if not sep:
            password = _password(ctx, "New password: ")
        await api.add_user(name, password)
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write(f"User {name} created\n")


async def user_remove(ctx: Context) -> None:
    name = _one(ctx, "username")
    api = await _api(ctx)
    try:
        await api.remove_user(name)
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write(f"User {name} removed\n")


async def user_passwd(ctx: Context) -> None:
    name = _one(ctx, "username")
    api = await _api(ctx)
    try:
        await api.change_password(name, _password(ctx, "New password: "))
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write("Password updated\n")


async def user_get(ctx: Context) -> None:
    name = _one(ctx, "username")
    api = await _api(ctx)
    try:
        user = await api.get_user(name)
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write(f"User: {user.user}\nRoles: {' '.join(user.go_compatible_roles)}\n")


async def user_grant(ctx: Context) -> None:
    await _user_roles(ctx, grant=True)


async def user_revoke(ctx: Context) -> None:
    await _user_roles(ctx, grant=False)


async def _user_roles(ctx: Context, *, grant: bool) -> None:
    roles = ctx.flags.get_list("roles")
    if not roles:
        raise _die(ctx, "No roles specified; please use `--roles`")
    name = _one(ctx, "username")
    api = await _api(ctx)
    try:
        await (api.grant_user(name, roles) if grant else api.revoke_user(name, roles))
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write(f"User {name} updated\n")


async def role_list(ctx: Context) -> None:
    _no_args(ctx)
    api = await _api(ctx)
    try:
        roles = await api.list_roles()
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write("".join(f"{r}\n" for r in roles))


async def role_add(ctx: Context) -> None:
    name = _one(ctx, "role name")
    api = await _api(ctx)
    try:
        try:
            await api.get_role(name)
        except ClientError:
            pass
        else:
            raise _die(ctx, f"Role {name} already exists")
        await api.add_role(name)
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write(f"Role {name} created\n")


async def role_remove(ctx: Context) -> None:
    name = _one(ctx, "role name")
    api = await _api(ctx)
    try:
        await api.remove_role(name)
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    ctx.out.write(f"Role {name} removed\n")


async def role_get(ctx: Context) -> None:
    name = _one(ctx, "role name")
    api = await _api(ctx)
    try:
        role = await api.get_role(name)
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    lines = [f"Role: {role.role}", "KV Read:", *(f"\t{p}" for p in role.read), "KV Write:"]
    lines += [f"\t{p}" for p in role.write]
    ctx.out.write("\n".join(lines) + "\n")


async def role_grant(ctx: Context) -> None:
    await _role_paths(ctx, grant=True)


async def role_revoke(ctx: Context) -> None:
    await _role_paths(ctx, grant=False)


def canonical_path(path: str) -> str:
    """etcd's pathutil.CanonicalURLPath: rooted, cleaned, trailing slash kept."""
    import posixpath

    if not path:
        return "/"
    rooted = path if path.startswith("/") else "/" + path
    cleaned = posixpath.normpath(rooted)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if rooted.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


async def _role_paths(ctx: Context, *, grant: bool) -> None:
    path = ctx.flags.get_str("path")
    if not path:
        raise _die(ctx, "No path specified; please use `--path`")
    if canonical_path(path) != path:
        raise _die(ctx, f"Not canonical path; please use `--path={canonical_path(path)}`")
    chosen = [p for p in ("read", "write", "readwrite") if ctx.flags.get_bool(p)]
    if len(chosen) != 1:
        raise _die(ctx, "Please specify exactly one of --read, --write or --readwrite")
    perm = Permission(chosen[0])
    name = _one(ctx, "role name")
    api = await _api(ctx)
    try:
        before = await api.get_role(name)
        if grant:
            after = await api.grant_role_kv(name, [path], perm)
        else:
            after = await api.revoke_role_kv(name, [path], perm)
    except ClientError as exc:
        raise _die(ctx, str(exc)) from None
    finally:
        await api.client.close()
    if after.raw == before.raw:  # etcdctl prints this without a newline
        ctx.out.write(
            "Role unchanged; already granted" if grant else "Role unchanged; already revoked"
        )
    ctx.out.write(f"Role {name} updated\n")
