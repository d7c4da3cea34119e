"""Learned rewards, trained in ``update``: Bradley-Terry preference reward models and their
ensembles, lexicographic labels from ranked components, pluralistic (mixture) preference
models, adversarial imitation (GAIL / AIRL with gradient penalty), a distilled annotator bonus,
and regularisation toward a reference policy (KL penalty, χ² occupancy penalty)."""

from jaxrl_rewards.transforms.learned.adversarial import (
    AdversarialReward,
    ExpertData,
    adversarial_reward,
    airl_reward,
    collect_expert_data,
    expert_data_from_batch,
    gail_reward,
)
from jaxrl_rewards.transforms.learned.aggregation import AGGREGATES, aggregate, bootstrap_weights, feature_masks
from jaxrl_rewards.transforms.learned.annotator import AnnotatorBonus, annotator_bonus
from jaxrl_rewards.transforms.learned.ensemble import ensemble_reward_model
from jaxrl_rewards.transforms.learned.lexicographic import (
    component_oracle,
    lexicographic_labels,
    lexicographic_reward_model,
)
from jaxrl_rewards.transforms.learned.pluralistic import (
    PluralisticRewardModel,
    UserPreferences,
    pluralistic_reward_model,
    user_preferences,
)
from jaxrl_rewards.transforms.learned.preferences import (
    PreferenceDataset,
    PreferenceRewardModel,
    RewardModelState,
    Segments,
    bradley_terry_labels,
    bt_loss,
    preference_dataset,
    preference_reward_model,
    reward_oracle,
    synthetic_preferences,
    true_reward_oracle,
)
from jaxrl_rewards.transforms.learned.regularization import (
    ActorReference,
    KLPenalty,
    OccupancyPenalty,
    ReferenceSamples,
    collect_reference_samples,
    kl_penalty,
    occupancy_penalty,
)

__all__ = [
    "AGGREGATES",
    "ActorReference",
    "AdversarialReward",
    "AnnotatorBonus",
    "ExpertData",
    "KLPenalty",
    "OccupancyPenalty",
    "PluralisticRewardModel",
    "PreferenceDataset",
    "PreferenceRewardModel",
    "ReferenceSamples",
    "RewardModelState",
    "Segments",
    "UserPreferences",
    "adversarial_reward",
    "aggregate",
    "airl_reward",
    "annotator_bonus",
    "bootstrap_weights",
    "bradley_terry_labels",
    "bt_loss",
    "collect_expert_data",
    "collect_reference_samples",
    "component_oracle",
    "ensemble_reward_model",
    "expert_data_from_batch",
    "feature_masks",
    "gail_reward",
    "kl_penalty",
    "lexicographic_labels",
    "lexicographic_reward_model",
    "occupancy_penalty",
    "pluralistic_reward_model",
    "preference_dataset",
    "preference_reward_model",
    "reward_oracle",
    "synthetic_preferences",
    "true_reward_oracle",
    "user_preferences",
]
