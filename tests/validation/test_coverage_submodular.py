"""Validation: submodular coverage rewards pay marginal gains (Krause & Golovin, 2014), against
brute force over every 4-step path on a 3x3 grid."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
from conftest import make_batch

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.transforms import coverage

MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))


def paths(length=4, start=(1, 1)):
    """Cells entered by every action sequence of ``length`` moves on a 3x3 grid (walls clip)."""
    out = []
    for seq in itertools.product(range(4), repeat=length):
        r, c = start
        cells = []
        for a in seq:
            r, c = min(max(r + MOVES[a][0], 0), 2), min(max(c + MOVES[a][1], 0), 2)
            cells.append(3 * r + c)
        out.append(cells)
    return np.asarray(out)  # [256, length]


def test_coverage_pays_the_marginal_gain_and_totals_the_covered_set():
    """Claim: a coverage reward pays the marginal gain of newly covered states (needs a
    per-episode visited set). For all 256 four-step paths from the centre: each step's reward is
    1 exactly when its cell is new in the episode (brute force with Python sets), and the
    episode's total is the coverage function itself, the number of distinct cells entered."""
    cells = paths()  # [N, T]
    n, t = cells.shape
    obs = jax.nn.one_hot(jnp.asarray(cells.T), 9)  # next_obs [T, N, 9]
    done = np.zeros((t, n), bool)
    done[-1] = True
    batch = make_batch(t, n).replace(
        next_obs=obs, terminated=jnp.asarray(done), truncated=jnp.zeros((t, n), bool), reward=jnp.zeros((t, n))
    )
    transform = coverage(lambda o: jnp.argmax(o), 9)
    streams = env_streams(batch, 0.9)
    state = transform.init(jax.random.key(0), TransformSpec(None, None, n, tuple(streams), batch))
    paid = np.asarray(transform.apply(state, streams, batch)[0]["coverage"].reward).T  # [N, T]
    assert paid[:, 0].all()  # the first step always covers a new cell
    for i, path in enumerate(cells):
        seen, expected = set(), []
        for cell in path:
            expected.append(float(cell not in seen))
            seen.add(cell)
        np.testing.assert_array_equal(paid[i], expected)
        assert paid[i].sum() == len(set(path.tolist()))
