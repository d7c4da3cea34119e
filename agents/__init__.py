"""Agents as pure functions: one module per algorithm, each satisfying the ``Agent`` protocol
(``agents.base.Agent``: ``make_config``, ``validate``, ``init``, ``train_segment``, ``train``,
``merge_segments``, ``PRESETS``, ``DESCRIPTION``)."""

from types import ModuleType

from jaxrl_rewards.agents import dqn, ppo, pqn, recurrent_ppo, sac
from jaxrl_rewards.agents.base import Agent, check_agent
from jaxrl_rewards.core.validation import ConfigError

#: agent name -> module
AGENTS: dict[str, ModuleType] = {"ppo": ppo, "dqn": dqn, "pqn": pqn, "sac": sac, "recurrent_ppo": recurrent_ppo}


def get_agent(name: str) -> ModuleType:
    """Look up an agent module by name; unknown names raise ``ConfigError`` (a ``ValueError``)
    with the list of agents."""
    try:
        return AGENTS[name]
    except KeyError:
        raise ConfigError(f"unknown agent {name!r}; available agents: {sorted(AGENTS)}") from None


def register_agent(name: str, agent: ModuleType) -> ModuleType:
    """Add ``agent`` (a module satisfying ``Agent``, checked by ``check_agent``) to ``AGENTS``
    under ``name``, so the runner, sweeps and CLI find it; ``ConfigError`` if the name is taken."""
    if name in AGENTS:
        raise ConfigError(f"agent {name!r} is already registered; registered agents: {sorted(AGENTS)}")
    AGENTS[name] = check_agent(agent, name)
    return agent


__all__ = ["AGENTS", "Agent", "check_agent", "dqn", "get_agent", "ppo", "pqn", "recurrent_ppo", "register_agent", "sac"]
