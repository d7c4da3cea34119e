"""Trained agents as objects other code uses: expert data for imitation (GAIL / AIRL) and
reference policies for KL / chi-squared regularisation, built from a trained PPO state.

These live with the agents (not with the transforms that consume them) so that transforms
never import an agent: dependencies point one way, core <- transforms <- agents.
"""

from __future__ import annotations

from typing import Any

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.types import PRNGKey, Transition
from jaxrl_rewards.transforms.learned.adversarial import ExpertData, collect_expert_data
from jaxrl_rewards.transforms.learned.regularization import ActorReference


def expert_data_from_ppo(
    config: Any, state: Any, key: PRNGKey, num_envs: int = 8, num_steps: int = 512, greedy: bool = True
) -> tuple[ExpertData, Transition]:
    """Expert data from a trained single-seed PPO ``state`` on ``config``'s environment
    (greedy: the mode of the action distribution). Actions are stored as PPO's raw policy
    actions, as in PPO's own batches."""
    dist_of = ppo.policy_fn(config, state)

    def policy(k, obs):
        dist = dist_of(obs)
        return (dist.mode() if greedy else dist.sample(seed=k)), None

    return collect_expert_data(ppo.env_with_action_map(config), config.env_params, policy, key, num_envs, num_steps)


def reference_from_ppo(config: Any, state: Any) -> ActorReference:
    """A reference policy from a PPO config and a (single-seed) trained ``PPOState``: the same
    actor network, its parameters and observation statistics. Actions are PPO's raw policy
    actions (what ``batch.action`` holds)."""
    return ActorReference(
        params=state.params["actor"],
        obs_stats=state.obs_stats,
        obs_clip=config.obs_clip,
        actor=ppo.actor_network(config),
        normalize_obs=bool(config.normalize_obs),
    )


__all__ = ["expert_data_from_ppo", "reference_from_ppo"]
