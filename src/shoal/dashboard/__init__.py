"""`shoal dashboard`: a live web page of a cluster, served by shoal itself.

    probe      what each etcd member says (members, role, term, indexes, health), through a
               pluggable HTTP client (`Fetcher`: TLS and credentials plug in there)
    fleetview  fleet's machines and units, through fleet's HTTP API
    timeline   leader changes and health changes as they are seen
    local      a local cluster (`shoal up`): its machines, and the buttons' actions, which run
               the very `shoal stop|kill|start|partition|heal` commands
    server     the aiohttp app: the page, its state as JSON and as server-sent events
    cli        `shoal dashboard [--dir DIR | --endpoints URLS] [--listen HOST:PORT]`

The page (static/) is plain HTML, CSS and JavaScript: no build step, no dependency.
"""
