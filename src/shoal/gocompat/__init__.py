"""What Go's standard library defines and shoal's programs must reproduce exactly.

etcd, etcdctl and fleet are Go programs; their users see Go's rules and Go's error texts. Each
module here is one Go package's behaviour, written once for every program that needs it:

    strconv     ParseBool, ParseInt, ParseUint, Quote (and their NumError texts)
    duration    time.ParseDuration and time.Duration.String
    rfc3339     time.Time.Format(time.RFC3339) and (time.RFC3339Nano)
    tabwriter   text/tabwriter's column alignment
    flag        the `flag` package's command-line syntax, driven by one table per program
    capnslog    etcd's capnslog line format as a logging.Formatter, and the daemons' log setup
    jsonscan    encoding/json's syntax check (Go's error texts, its nesting limit), no recursion
    nethttp     net/http's and net/url's handling of a request (target, ServeMux, ParseForm)
                and url.Parse's split of a URL
    fmt         %v of a slice, for lines that print one as Go does

This is the lowest floor (tests/test_layers.py): it imports nothing from the rest of shoal.
Not Go's rules, and so not here: systemd's booleans (yes/no/on/off in unit files) and
cloud-config's YAML booleans.
"""
