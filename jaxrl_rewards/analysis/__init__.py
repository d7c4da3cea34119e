"""Exact tools for checking reward designs: the CMDP linear program (``cmdp``), reward-free
exploration and planning (``reward_free``), reward distances EPIC/STARC (``distances``) and
Pareto fronts / hypervolume (``pareto``)."""
