"""Agents as pure functions: one module per algorithm, each exposing
``make_config``, ``init``, ``train_segment``, ``train`` and ``validate``."""

from jaxrl_rewards.agents import dqn, ppo, pqn, recurrent_ppo, sac

#: agent name -> module
AGENTS = {"ppo": ppo, "dqn": dqn, "pqn": pqn, "sac": sac, "recurrent_ppo": recurrent_ppo}


def get_agent(name: str):
    """Look up an agent module by name; unknown names raise with the list of agents."""
    try:
        return AGENTS[name]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; available agents: {sorted(AGENTS)}") from None


__all__ = ["AGENTS", "dqn", "get_agent", "ppo", "pqn", "recurrent_ppo", "sac"]
