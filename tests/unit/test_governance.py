"""Tasks (JIT), elevation, acceptance, receipts, and the audit trail of every event."""

from __future__ import annotations

import pytest
from support import CAP, NARROW, REQ, T0, TOOL_AUD, Recorder, World
from verify_support import extend

from delegation import (
    AgentKey,
    Capability,
    ChainGrantsOnly,
    DelegationError,
    Delegator,
    MemoryAudit,
    Verifier,
)
from delegation.policy import Decision, PolicyContext
from delegation.tasks import Tasks


@pytest.fixture
def tasks(world: World) -> Tasks:
    return Tasks(world.store, audit=world.audit, clock=world.clock)


def _orch(world: World, tasks: Tasks, **kw: object) -> Delegator:
    return Delegator(world.orch, clock=world.clock, tasks=tasks, audit=world.audit, **kw)  # type: ignore[arg-type]


def _mint(
    world: World,
    d: Delegator,
    *,
    task: str = "T-42",
    ttl: int = 600,
    caps: list[Capability] | None = None,
) -> object:
    return d.mint(
        to=world.agents[0].agent,
        to_key=world.agents[0].public_jwk(),
        caps=caps or [CAP],
        ttl=ttl,
        depth=3,
        task=task,
        obo="user:alice",
    )


class TestTasks:
    def test_mistakes_are_coded_errors(self, world: World) -> None:
        """Closing an unknown task, reopening an open one, a deadline past the maximum."""
        tasks = Tasks(world.store, clock=world.clock, max_ttl=3600)
        with pytest.raises(DelegationError) as ei:
            tasks.close("never-opened")
        assert ei.value.code == "task_unknown"
        with pytest.raises(DelegationError) as ei:
            tasks.open("T-1", ttl=3601)
        assert ei.value.code == "task_deadline_too_far"
        tasks.open("T-1", ttl=3600)
        with pytest.raises(DelegationError) as ei:
            tasks.open("T-1", ttl=60)
        assert ei.value.code == "task_already_open"
        assert tasks.get("T-1").deadline == T0 + 3600  # type: ignore[union-attr]  # unmoved
        world.clock.advance(3600)
        assert tasks.open("T-1", ttl=60).deadline == T0 + 3660  # past its deadline: reopens

    def test_mint_needs_an_open_task(self, world: World, tasks: Tasks) -> None:
        """With tasks, minting for an unknown task is refused (task_not_open)."""
        with pytest.raises(DelegationError) as ei:
            _mint(world, _orch(world, tasks))
        assert ei.value.code == "task_not_open"

    def test_lifetime_is_clipped_to_the_deadline(self, world: World, tasks: Tasks) -> None:
        """A token asked for 600 s in a task with 120 s left expires at the deadline."""
        tasks.open("T-42", ttl=120)
        chain = _mint(world, _orch(world, tasks))
        from delegation import parse_unverified

        assert parse_unverified(chain)[0].claims.exp == T0 + 120  # type: ignore[arg-type]

    def test_close_revokes_every_chain_of_the_task_only(self, world: World, tasks: Tasks) -> None:
        """Closing a task fails its chains on every verifier sharing the store; others live."""
        tasks.open("T-42", ttl=600)
        tasks.open("T-43", ttl=600)
        d = _orch(world, tasks)
        c42 = _mint(world, d, task="T-42")
        c43 = _mint(world, d, task="T-43")
        other_verifier = world.verifier()  # same store, another instance
        tasks.close("T-42", reason="done")
        for v in (world.verifier(), other_verifier):
            with pytest.raises(DelegationError) as ei:
                v.verify_chain(c42)  # type: ignore[arg-type]
            assert ei.value.code == "revoked"
            assert v.verify_chain(c43).task == "T-43"  # type: ignore[arg-type]
        with pytest.raises(DelegationError) as ei:
            _mint(world, d, task="T-42")
        assert ei.value.code == "task_not_open"
        with pytest.raises(DelegationError) as ei:
            tasks.open("T-42", ttl=600)
        assert ei.value.code == "task_not_open"

    def test_past_deadline_is_not_open(self, world: World, tasks: Tasks) -> None:
        """After its deadline a task mints nothing."""
        tasks.open("T-42", ttl=60)
        world.clock.advance(61)
        with pytest.raises(DelegationError) as ei:
            _mint(world, _orch(world, tasks))
        assert ei.value.code == "task_not_open"

    def test_bad_task_input(self, tasks: Tasks) -> None:
        """Bad ids and ttls are invalid_input."""
        for task, ttl in (("", 60), ("a\x00b", 60), ("T", 0), ("T", -5)):
            with pytest.raises(DelegationError) as ei:
                tasks.open(task, ttl=ttl)
            assert ei.value.code == "invalid_input"

    def test_events_are_audited(self, world: World, tasks: Tasks) -> None:
        """task_open, mint, delegate, revoke and task_close all reach the audit log."""
        tasks.open("T-42", ttl=600, owner="user:alice")
        chain = _mint(world, _orch(world, tasks))
        Delegator(world.agents[0], clock=world.clock, audit=world.audit).delegate(
            chain,
            to=world.agents[1].agent,
            to_key=world.agents[1].public_jwk(),  # type: ignore[arg-type]
            caps=[NARROW],
            ttl=60,
        )
        tasks.revoke("jti", "abc", reason="leaked")
        tasks.close("T-42")
        events = [r["event"] for r in world.audit.records]
        assert events == ["task_open", "mint", "delegate", "revoke", "task_close"]
        mint = world.audit.records[1]["token"]
        assert (mint["iss"], mint["sub"], mint["task"]) == (
            world.orch.agent,
            world.agents[0].agent,
            "T-42",
        )
        delegate = world.audit.records[2]["token"]
        assert delegate["parent"] == mint["token_id"]


class TestElevation:
    def _world(self) -> tuple[World, Tasks, Delegator]:
        w = World()
        tasks = Tasks(w.store, audit=w.audit, clock=w.clock)
        tasks.open("INC-7", ttl=3600)
        return w, tasks, _orch(w, tasks, registry=w.registry)

    def test_baseline_bounds_a_grant(self) -> None:
        """With a registry, a grant beyond the receiver's baseline is refused."""
        w, _, d = self._world()
        with pytest.raises(DelegationError) as ei:
            _mint(w, d, task="INC-7", caps=[Capability(tool="crm.write")])
        assert ei.value.code == "scope_escalation"
        assert "baseline" in ei.value.message

    def test_elevation_allows_it_briefly_and_is_audited(self) -> None:
        """An approved elevation covers the excess, clips the token to its end, is marked."""
        w, tasks, d = self._world()
        elevation = tasks.elevate(
            "INC-7",
            [Capability(tool="crm.write")],
            approved_by="user:oncall-lead",
            ttl=300,
            reason="incident",
        )
        chain = _mint(w, d, task="INC-7", caps=[Capability(tool="crm.write")])
        from delegation import parse_unverified

        assert parse_unverified(chain)[0].claims.exp == T0 + 300  # type: ignore[arg-type]
        mint = next(r for r in w.audit.records if r["event"] == "mint")
        assert mint["elevation"] == elevation.id
        assert any(
            r["event"] == "elevate" and r["approved_by"] == "user:oncall-lead"
            for r in w.audit.records
        )
        w.clock.advance(301)  # the elevation expires by itself
        assert tasks.elevation("INC-7") is None
        with pytest.raises(DelegationError) as ei:
            _mint(w, d, task="INC-7", caps=[Capability(tool="crm.write")])
        assert ei.value.code == "scope_escalation"

    def test_elevation_needs_an_open_task_and_a_reason(self) -> None:
        """Elevation is refused for closed tasks and without approver or reason."""
        _, tasks, _ = self._world()
        with pytest.raises(DelegationError) as ei:
            tasks.elevate("INC-7", [CAP], approved_by="user:x", ttl=60, reason=" ")
        assert ei.value.code == "invalid_input"
        assert "reason" in ei.value.message
        with pytest.raises(DelegationError) as ei:
            tasks.elevate("INC-7", [CAP], approved_by="not an id", ttl=60, reason="r")
        assert ei.value.code == "invalid_input"
        assert "approver" in ei.value.message
        tasks.close("INC-7")
        with pytest.raises(DelegationError) as ei:
            tasks.elevate("INC-7", [CAP], approved_by="user:x", ttl=60, reason="r")
        assert ei.value.code == "task_not_open"


class AcceptOnlyCrm:
    digest = "accept-crm-v1"

    def decide(self, context: PolicyContext) -> Decision:
        if context.action == "accept":
            ok = all(c.tool.startswith("crm.") for c in context.capabilities)
            return Decision("allow" if ok else "deny", ("accept-crm",), "crm only")
        return Decision("allow", ("invoke",))


class TestAcceptAndReceipts:
    def _agent_verifier(self, world: World, i: int, **kw: object) -> Verifier:
        return Verifier(
            registry=world.registry,
            audience=world.agents[i].agent,
            policy=AcceptOnlyCrm(),
            revocations=world.store,
            audit=world.audit,
            clock=world.clock,
            **kw,
        )  # type: ignore[arg-type]

    def _chain_with_receipts(self, world: World, hops: int = 3) -> object:
        chain = world.delegator(world.orch).mint(
            to=world.agents[0].agent,
            to_key=world.agents[0].public_jwk(),
            caps=[CAP],
            ttl=600,
            depth=hops + 1,
            task="T-42",
            obo="user:alice",
        )
        for i in range(1, hops):
            accepted = self._agent_verifier(world, i - 1).accept(chain)
            chain = world.delegator(world.agents[i - 1]).delegate(
                accepted,
                to=world.agents[i].agent,
                to_key=world.agents[i].public_jwk(),
                caps=[NARROW],
                ttl=600 - i,
            )
        return chain

    def test_accept_then_delegate_carries_receipts(self, world: World) -> None:
        """accept() + delegate() attaches receipts; require_receipts then verifies."""
        chain = self._chain_with_receipts(world, 3)
        v = world.verifier(require_receipts=True)
        assert v.verify(chain, world.prove(chain), REQ).depth == 3  # type: ignore[arg-type]
        accepts = [r for r in world.audit.records if r["event"] == "accept"]
        assert len(accepts) == 2
        assert all(r["decision"] == "allow" for r in accepts)
        assert accepts[0]["policy"]["digest"] == "accept-crm-v1"

    def test_missing_receipt_is_rejected_when_required(self, world: World) -> None:
        """A chain with one hop delegated without acceptance fails under require_receipts."""
        chain = world.chain(3)  # no receipts
        with pytest.raises(DelegationError) as ei:
            world.verifier(require_receipts=True).verify(chain, world.prove(chain), REQ)
        assert (ei.value.code, ei.value.hop, ei.value.claim) == ("receipt_missing", 1, "rcpt")
        assert ei.value.message.endswith("verified and accepted token 0")
        assert world.verifier().verify(chain, world.prove(chain), REQ).depth == 3

    def test_forged_receipt_is_rejected(self, world: World) -> None:
        """A receipt signed by another key, for another token, or unparseable, is
        bad_receipt, each for its own reason (the receipts name the very parent they
        are attached under, so only the forged part can refuse them)."""
        root = world.chain(1)
        parent_id = world.verifier().verify_chain(root).token_ids[0]  # type: ignore[arg-type]
        mallory = AgentKey.generate("spiffe://evil.example/agent/mallory")
        for receipt, reason in (
            (Delegator(mallory, clock=world.clock).receipt(parent_id, policy_digest="x"), "key"),
            (
                world.delegator(world.agents[0]).receipt("A" * 43, policy_digest="x"),
                "accepts another token, not token 0",
            ),
            ("not.a.receipt", "token 1 receipt"),
        ):
            chain = extend(world, root, world.agents[1], ttl=60, receipt=receipt)
            with pytest.raises(DelegationError) as ei:
                world.verifier().verify_chain(chain)
            assert (ei.value.code, ei.value.hop, ei.value.claim) == ("bad_receipt", 1, "rcpt")
            assert ei.value.message.startswith("token 1 receipt")
            assert reason in ei.value.message

    def test_accept_is_single_use_and_for_me_only(self, world: World) -> None:
        """A delegation is accepted once, only by its receiver, and under the policy."""
        chain = world.chain(1)
        v0 = self._agent_verifier(world, 0)
        assert v0.accept(chain).action == "accept"
        with pytest.raises(DelegationError) as ei:
            v0.accept(chain)
        assert ei.value.code == "already_accepted"
        with pytest.raises(DelegationError) as ei:
            self._agent_verifier(world, 1).accept(world.chain(1))
        assert ei.value.code == "audience_mismatch"
        mail = world.delegator(world.orch).mint(
            to=world.agents[0].agent,
            to_key=world.agents[0].public_jwk(),
            caps=[Capability(tool="mail.send")],
            ttl=60,
            task="T-9",
        )
        with pytest.raises(DelegationError) as ei:
            v0.accept(mail)
        assert ei.value.code == "policy_denied"
        denied = [
            r for r in world.audit.records if r["event"] == "accept" and r["decision"] == "deny"
        ]
        assert [r["code"] for r in denied] == [
            "already_accepted",
            "audience_mismatch",
            "policy_denied",
        ]

    def test_policy_gets_labels_and_environment(self, world: World) -> None:
        """Request labels and the verifier's environment reach the policy."""
        spy = Recorder(Decision("deny", ("no-pii",), "pii"))
        chain = world.chain(2)
        world.registry.set_tool_labels("crm.read", ["sensitive_read"])
        v = world.verifier(policy=spy, environment={"env": "prod"})
        with pytest.raises(DelegationError) as ei:
            v.verify(chain, world.prove(chain), REQ, labels={"sensitivity": "pii"})
        assert ei.value.code == "policy_denied"
        (ctx,) = spy.seen
        assert ctx.labels == {"sensitivity": "pii"}
        assert ctx.environment == {"env": "prod"}
        assert ctx.tool_labels == frozenset({"sensitive_read"})
        assert world.audit.records[-1]["labels"] == {"sensitivity": "pii"}


def test_chain_grants_only_is_explicit(world: World) -> None:
    """The verifier has no default policy: it must be chosen."""
    with pytest.raises(TypeError):
        Verifier(registry=world.registry, audience=TOOL_AUD)  # type: ignore[call-arg]
    assert Verifier(registry=world.registry, audience=TOOL_AUD, policy=ChainGrantsOnly())
    assert isinstance(world.audit, MemoryAudit)
