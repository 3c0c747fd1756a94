"""etcd 3.4's facts that the v2 client HTTP API copies: versions, limits, header values and the
fixed texts clients see. Sources: etcd release-3.4 (`etcdserver/api/v2http/client.go`,
`etcdserver/api/etcdhttp/*.go`, `embed/serve.go`, `version/version.go`) and the Go 1.19 net/http
and net/url it is built with; each value was checked against a real etcd 3.4.23 on loopback.
"""

from __future__ import annotations

# --- versions (version/version.go; /version answers these) ---------------------------------
SERVER_VERSION = "3.4.23"
CLUSTER_VERSION = "3.4.0"
"""etcd reports `not_decided` until the cluster version is agreed; shoal always has one."""

# --- limits -----------------------------------------------------------------------------------
MAX_REQUEST_BYTES = 1_572_864
"""etcd's default --max-request-bytes (embed.DefaultMaxRequestBytes). Not applied to v2: kept
here so readers find why a 2 MiB v2 write succeeds (as on etcd)."""

MAX_HEADER_BYTES = 1 << 20
"""Go's http.DefaultMaxHeaderBytes: the headers may be this long (then 431)."""

MAX_REQUEST_LINE = 4096
"""The longest request line etcd's client port takes, CRLF included: its cmux listener reads
the first line into a 4096-byte buffer and drops the connection when it does not fit."""

WATCH_TIMEOUT = 300.0
"""v2http defaultWatchTimeout: a watch response is closed after 5 minutes."""

# --- method lists (allowMethod's `Allow` header joins them with ",") ------------------------
KEYS_METHODS = ("HEAD", "GET", "PUT", "POST", "DELETE")
MEMBERS_METHODS = ("GET", "POST", "DELETE", "PUT")
MACHINES_METHODS = ("GET", "HEAD")
GET_ONLY = ("GET",)

# --- headers ------------------------------------------------------------------------------------
# embed/serve.go addCORSHeader with the default --cors '*': on every response, and an OPTIONS
# request to any path answers 200 with only these.
CORS_HEADERS = (
    ("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE"),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Headers", "accept, content-type, authorization"),
)
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
"""What Go's http.Error sets, and what Go sniffs for bodies written without a Content-Type."""
HTML = "text/html; charset=utf-8"

# --- fixed texts ----------------------------------------------------------------------------
METHOD_NOT_ALLOWED = "Method Not Allowed"
NOT_FOUND_PAGE = "404 page not found"
BAD_REQUEST_PAGE = "400 Bad Request"
"""What Go's server answers (then closes) for a request target it cannot parse."""
WAIT_NOT_GET = '"wait" can only be used with GET requests'
PREV_VALUE_EMPTY = '"prevValue" cannot be empty'
REFRESH_WITH_VALUE = "A value was provided on a refresh"
REFRESH_NO_TTL = "No TTL value set"
NOT_LEADER = "not current leader"
DURING_ELECTION = "During election"
MEMBER_NOT_FOUND = "Not found"
NO_SUCH_MEMBER = "No such member: {}"
MEMBER_REMOVED = "Member permanently removed: {}"
BAD_CONTENT_TYPE = "Bad Content-Type {}, accept application/json"
INTERNAL_SERVER_ERROR = "Internal Server Error"

# --- member requests (httptypes.MemberCreateRequest, types.NewURLs) -------------------------
MEMBER_REQUEST_GO_TYPE = 'struct { PeerURLs []string "json:\\"peerURLs\\"" }'
"""The Go type etcd 3.4.23 decodes POST and PUT /v2/members bodies into, as its JSON type
errors name it. 3.4's v2 create request has no isLearner: the field is ignored."""
