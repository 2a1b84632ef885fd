from support import REQ, World


def test_world_chain_verifies(world: World) -> None:
    """A chain built by the test world verifies end to end."""
    chain = world.chain(3)
    v = world.verifier().verify(chain, world.prove(chain), REQ)
    assert v.depth == 3
    assert v.holder == world.agents[2].agent
