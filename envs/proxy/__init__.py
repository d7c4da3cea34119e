"""Registry entries for our own proxy-reward (reward hacking) environments.

ENVIRONMENTS maps a name to (factory, description); factory(**options) returns
(env, default_params). jaxrl_rewards.envs.registry registers every entry at import.
The environments live in :mod:`.proxy_grid` and :mod:`.reward_map_grid` (a continuing grid with a
per-cell reward map, the test bed for learned reward models).
"""

from __future__ import annotations

from functools import partial

from .proxy_grid import make_proxy_grid
from .reward_map_grid import make_reward_map_grid

ENVIRONMENTS: dict = {
    "ProxyGrid-bonus": (
        partial(make_proxy_grid, variant="bonus"),
        "5x5 grid, true reward: reach the far corner; proxy adds a bonus per step on the cell next to it (campable)",
    ),
    "ProxyGrid-tamper": (
        partial(make_proxy_grid, variant="tamper"),
        "5x5 grid whose tamper cell pins the observed reward at its max; true reward in info['true_reward']",
    ),
    "RewardMapGrid-v0": (
        make_reward_map_grid,
        "6x6 continuing grid (no terminal state); each cell pays a fixed reward "
        "(default: a hill peaking in the far corner)",
    ),
}
