"""The etcd v2 error table and the error value every v2 keys operation fails with.

Codes, messages and HTTP statuses are etcd's (release-3.4 `etcdserver/api/v2error/error.go`);
clients such as etcdctl and python-etcd switch on the code, so none of them may change.
"""

from __future__ import annotations

from shoal.store.jsonenc import go_string
from shoal.store.paths import user_key

# Command related errors.
KEY_NOT_FOUND = 100
TEST_FAILED = 101
NOT_FILE = 102
NO_MORE_PEER = 103
NOT_DIR = 104
NODE_EXIST = 105
KEY_IS_PRESERVED = 106
ROOT_READ_ONLY = 107
DIR_NOT_EMPTY = 108
EXISTING_PEER_ADDR = 109
UNAUTHORIZED = 110

# Request (form) related errors.
VALUE_REQUIRED = 200
PREV_VALUE_REQUIRED = 201
TTL_NAN = 202
INDEX_NAN = 203
VALUE_OR_TTL_REQUIRED = 204
TIMEOUT_NAN = 205
NAME_REQUIRED = 206
INDEX_OR_VALUE_REQUIRED = 207
INDEX_VALUE_MUTEX = 208
INVALID_FIELD = 209
INVALID_FORM = 210
REFRESH_VALUE = 211
REFRESH_TTL_REQUIRED = 212

# Raft related errors.
RAFT_INTERNAL = 300
LEADER_ELECT = 301

# etcd related errors.
WATCHER_CLEARED = 400
EVENT_INDEX_CLEARED = 401
STANDBY_INTERNAL = 402
INVALID_ACTIVE_SIZE = 403
INVALID_REMOVE_DELAY = 404

# Client related errors.
CLIENT_INTERNAL = 500

MESSAGES: dict[int, str] = {
    KEY_NOT_FOUND: "Key not found",
    TEST_FAILED: "Compare failed",
    NOT_FILE: "Not a file",
    NO_MORE_PEER: "Reached the max number of peers in the cluster",
    NOT_DIR: "Not a directory",
    NODE_EXIST: "Key already exists",
    KEY_IS_PRESERVED: "The prefix of given key is a keyword in etcd",
    ROOT_READ_ONLY: "Root is read only",
    DIR_NOT_EMPTY: "Directory not empty",
    EXISTING_PEER_ADDR: "Peer address has existed",
    UNAUTHORIZED: "The request requires user authentication",
    VALUE_REQUIRED: "Value is Required in POST form",
    PREV_VALUE_REQUIRED: "PrevValue is Required in POST form",
    TTL_NAN: "The given TTL in POST form is not a number",
    INDEX_NAN: "The given index in POST form is not a number",
    VALUE_OR_TTL_REQUIRED: "Value or TTL is required in POST form",
    TIMEOUT_NAN: "The given timeout in POST form is not a number",
    NAME_REQUIRED: "Name is required in POST form",
    INDEX_OR_VALUE_REQUIRED: "Index or value is required",
    INDEX_VALUE_MUTEX: "Index and value cannot both be specified",
    INVALID_FIELD: "Invalid field",
    INVALID_FORM: "Invalid POST form",
    REFRESH_VALUE: "Value provided on refresh",
    REFRESH_TTL_REQUIRED: "A TTL must be provided on refresh",
    RAFT_INTERNAL: "Raft Internal Error",
    LEADER_ELECT: "During Leader Election",
    WATCHER_CLEARED: "watcher is cleared due to etcd recovery",
    EVENT_INDEX_CLEARED: "The event in requested index is outdated and cleared",
    STANDBY_INTERNAL: "Standby Internal Error",
    INVALID_ACTIVE_SIZE: "Invalid active size",
    INVALID_REMOVE_DELAY: "Standby remove delay",
    CLIENT_INTERNAL: "Client Internal Error",
}

# Every code not listed here answers 400 Bad Request.
STATUSES: dict[int, int] = {
    KEY_NOT_FOUND: 404,
    NOT_FILE: 403,
    DIR_NOT_EMPTY: 403,
    UNAUTHORIZED: 401,
    TEST_FAILED: 412,
    NODE_EXIST: 412,
    RAFT_INTERNAL: 500,
    LEADER_ELECT: 500,
}


class EtcdError(Exception):
    """A v2 API error: `code` from the table above, a `cause` (often the key) and the store
    `index` at the moment of failure (0 for request-parsing errors, as etcd does)."""

    __slots__ = ("cause", "code", "index")

    def __init__(self, code: int, cause: str = "", index: int = 0) -> None:
        super().__init__(code, cause, index)
        self.code = code
        self.cause = cause
        self.index = index

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, "")

    @property
    def status(self) -> int:
        """The HTTP status etcd answers this error with."""
        return STATUSES.get(self.code, 400)

    def user_cause(self) -> str:
        """The cause as a client sees it: store paths lose the `/1` user-key prefix, like
        etcd's keys handler does for every error it returns (a plain string prefix trim)."""
        return user_key(self.cause)

    def to_json(self) -> bytes:
        """etcd's error body, newline included: errorCode, message, cause (left out when
        empty), index."""
        cause = self.user_cause()
        head = f'{{"errorCode":{self.code},"message":{go_string(self.message)}'
        if cause:
            head += f',"cause":{go_string(cause)}'
        return f'{head},"index":{self.index}}}\n'.encode()

    def __str__(self) -> str:
        return f"{self.message} ({self.cause})"

    def __repr__(self) -> str:
        return f"EtcdError({self.code}, {self.cause!r}, {self.index})"
