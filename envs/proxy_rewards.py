"""Registry entries for our own proxy-reward (reward hacking) environments.

ENVIRONMENTS maps a name to (factory, description); factory(**options) returns
(env, default_params). jaxrl_rewards.envs.registry registers every entry at import.
The environments live in :mod:`.proxy_grid`.
"""

from __future__ import annotations

from functools import partial

from .proxy_grid import make_proxy_grid

ENVIRONMENTS: dict = {
    "ProxyGrid-bonus": (
        partial(make_proxy_grid, variant="bonus"),
        "5x5 grid, true reward: reach the far corner; proxy adds a bonus per step on the cell next to it (campable)",
    ),
    "ProxyGrid-tamper": (
        partial(make_proxy_grid, variant="tamper"),
        "5x5 grid whose tamper cell pins the observed reward at its max; true reward in info['true_reward']",
    ),
}
