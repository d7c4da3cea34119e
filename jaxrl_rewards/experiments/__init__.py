"""Running agents as experiments: sweep specs (``spec``), config paths (``paths``), training
several seeds (``runner``), sweeps (``sweep``) on a backend (``backends``), the results store
(``store``, ``results``), checkpoints, live logging, plots and the quickstart."""
