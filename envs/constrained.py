"""Registry entries for our own constrained environments (filled in by the issue that adds them).

ENVIRONMENTS maps a name to (factory, description); factory(**options) returns
(env, default_params). jaxrl_rewards.envs.registry registers every entry at import.
"""

from __future__ import annotations

ENVIRONMENTS: dict = {}
