"""Write your own agent: REINFORCE with reward streams and transforms, as one pure function.

``train(env, env_params, transform, key)`` is jittable and vmappable over keys. It uses the
library's rollout, reward streams and transforms, and collapses streams with ``scalarize``
(the fallback for agents without one value head per stream).
"""

import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.agents.estimators import returns_to_go
from jaxrl_rewards.core.networks import DiscretePolicy
from jaxrl_rewards.core.rollout import EpisodeTracker, example_batch, reset_envs, rollout
from jaxrl_rewards.core.streams import env_streams, scalarize, stream_names
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms import identity


def train(env, env_params, transform, key, num_envs=8, num_steps=128, iterations=40, lr=1e-2, gamma=0.99):
    """Returns the final policy parameters and the mean episode return per iteration, ``[iterations]``."""
    policy = DiscretePolicy(int(env.action_space(env_params).n), (32,))
    example = example_batch(env, env_params, num_envs, lambda k, obs: jnp.zeros(num_envs, jnp.int32))
    names = stream_names(env_streams(example, gamma))
    spec = TransformSpec(env.observation_space(env_params), env.action_space(env_params), num_envs, names, example)
    env_key, policy_key, transform_key, key = jax.random.split(key, 4)
    envs = reset_envs(env, env_params, env_key, num_envs)
    params = policy.init(policy_key, envs.obs[:1])
    tx = optax.adam(lr)
    carry = (
        params,
        tx.init(params),
        envs,
        transform.init(transform_key, spec),
        EpisodeTracker.create(num_envs, 1),
        key,
    )

    def iteration(carry, _):
        params, opt_state, envs, transform_state, tracker, key = carry
        key, rollout_key, update_key = jax.random.split(key, 3)

        def act(k, obs):
            return policy.apply(params, obs).sample(seed=k), None

        envs, batch, _ = rollout(env, env_params, act, envs, rollout_key, num_steps)  # [T, N] transitions
        streams, transform_state = transform.apply(transform_state, env_streams(batch, gamma), batch)
        reward = scalarize(streams)  # sum_k w_k r_k, [T, N]
        returns = returns_to_go(reward, batch.done, gamma)  # no bootstrap: episodes cut by the batch end
        advantage = (returns - returns.mean()) / (returns.std() + 1e-8)

        def loss(p):
            return -(policy.apply(p, batch.obs).log_prob(batch.action) * advantage).mean()

        updates, opt_state = tx.update(jax.grad(loss)(params), opt_state)
        params = optax.apply_updates(params, updates)
        transform_state, _ = transform.update(transform_state, streams, batch, update_key)
        tracker, _ = tracker.track(batch.reward[..., None], batch.done)
        return (params, opt_state, envs, transform_state, tracker, key), tracker.last_return[0]

    carry, episode_returns = jax.lax.scan(iteration, carry, None, length=iterations)
    return carry[0], episode_returns


if __name__ == "__main__":
    env, env_params = make("CartPole-v1")
    keys = jax.random.split(jax.random.key(0), 4)
    _, returns = jax.jit(jax.vmap(train, in_axes=(None, None, None, 0)), static_argnums=(0,))(
        env, env_params, identity(), keys
    )
    print("mean episode return, first and last iteration:", returns[:, 0].mean(), returns[:, -1].mean())
