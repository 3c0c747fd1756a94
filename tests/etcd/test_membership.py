"""Applying conf changes to the membership view: what each change writes under /0 in the store
(the one place that says so), which peer link it changes, and what its proposer is told."""

from __future__ import annotations

from shoal.etcd.membership import Membership, PeerOp, member_context
from shoal.etcd.server_iface import MemberInfo
from shoal.raft.types import ConfChange, ConfChangeType
from shoal.store import request as rq

A = MemberInfo(0xA, "a", ["http://127.0.0.1:1"], ["http://127.0.0.1:2"])
B = MemberInfo(0xB, "", ["http://127.0.0.1:3"])


def add(m: MemberInfo, learner: bool = False) -> ConfChange:
    kind = ConfChangeType.ADD_LEARNER if learner else ConfChangeType.ADD_NODE
    ctx = MemberInfo(m.id, m.name, list(m.peer_urls), list(m.client_urls), learner)
    return ConfChange(kind, m.id, member_context(ctx))


def never(_: int) -> bool:
    return False


def test_an_added_member_gets_its_raft_attributes_written_and_a_peer_link() -> None:
    ms = Membership()
    out = ms.apply_conf_change(add(B), never)
    assert out.error is None
    assert [(w.method, w.path, w.value) for w in out.writes] == [
        (rq.PUT, "/0/members/b/raftAttributes", '{"peerURLs":["http://127.0.0.1:3"]}')
    ]
    assert out.peer == (PeerOp.ADD, 0xB, ["http://127.0.0.1:3"])
    assert ms.members[0xB].peer_urls == B.peer_urls


def test_adding_a_member_raft_already_holds_is_refused_with_409() -> None:
    ms = Membership({B.id: MemberInfo(B.id, "", list(B.peer_urls))})
    out = ms.apply_conf_change(add(B), lambda i: i == B.id)
    assert out.error is not None and out.error.status == 409


def test_a_member_known_from_the_configuration_keeps_its_published_name() -> None:
    ms = Membership({A.id: A})
    out = ms.apply_conf_change(add(MemberInfo(A.id, "", list(A.peer_urls))), never)
    assert out.error is None and ms.members[A.id].name == "a"


def test_a_learner_added_again_as_a_voter_is_promoted() -> None:
    ms = Membership()
    ms.apply_conf_change(add(B, learner=True), never)
    assert ms.members[B.id].is_learner
    out = ms.apply_conf_change(add(B), lambda i: True)
    assert out.error is None and not ms.members[B.id].is_learner


def test_a_removed_member_leaves_the_tree_and_cannot_come_back() -> None:
    ms = Membership({A.id: A})
    out = ms.apply_conf_change(ConfChange(ConfChangeType.REMOVE_NODE, A.id), never)
    assert out.error is None
    assert [(w.method, w.path) for w in out.writes] == [
        (rq.DELETE, "/0/members/a"),
        (rq.PUT, "/0/removed_members/a"),
    ]
    assert out.peer == (PeerOp.REMOVE, A.id, [])
    assert A.id in ms.removed and A.id not in ms.members
    again = ms.apply_conf_change(add(A), never)
    assert again.error is not None and again.error.status == 410 and not again.writes


def test_removing_or_updating_an_unknown_member_is_404_and_writes_nothing() -> None:
    ms = Membership()
    for cc in (
        ConfChange(ConfChangeType.REMOVE_NODE, B.id),
        ConfChange(ConfChangeType.UPDATE_NODE, B.id, member_context(B)),
    ):
        out = ms.apply_conf_change(cc, never)
        assert out.error is not None and out.error.status == 404
        assert out.writes == () and out.peer is None


def test_an_update_moves_the_peer_urls() -> None:
    ms = Membership({A.id: MemberInfo(A.id, "a", list(A.peer_urls))})
    moved = MemberInfo(A.id, "a", ["http://127.0.0.1:9"])
    out = ms.apply_conf_change(
        ConfChange(ConfChangeType.UPDATE_NODE, A.id, member_context(moved)), never
    )
    assert out.error is None and ms.members[A.id].peer_urls == ["http://127.0.0.1:9"]
    assert out.peer == (PeerOp.UPDATE, A.id, ["http://127.0.0.1:9"])
    assert out.writes[0].path == "/0/members/a/raftAttributes"
