"""The closed loop (`engine run`): generate -> augment -> train -> predict -> evaluate, then mine ->
plan -> resynthesize -> finetune, iteration after iteration, resumable step by step."""

from docfactory.engine.loop.profile import LoopProfile, ProfileError, known_profiles, load_profile
from docfactory.engine.loop.run import LoopError, LoopRequest, Reporter, run_loop

__all__ = ["LoopError", "LoopProfile", "LoopRequest", "ProfileError", "Reporter", "known_profiles", "load_profile", "run_loop"]
