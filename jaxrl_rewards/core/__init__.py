"""The data that flows through the library and the plumbing every other layer uses.

``types`` (``Transition``, ``Stream``, ``TransformSpec``), ``streams`` (environment streams,
``scalarize``), ``rollout`` (vectorised env stepping with episode bookkeeping), ``validation``
(``ConfigError`` and checks), ``running_stats``, ``networks``, ``optim``, ``determinism`` (the
batch-exact XLA flag, set when the package is imported) and ``struct`` (the pytree dataclasses every
layer's configs and states are made of). Nothing here
imports transforms, agents or experiments.
"""
