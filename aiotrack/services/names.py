"""Random run names in MLflow's style (adjective-noun-number) when the client gives none."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "able", "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fair", "fast",
    "gentle", "glad", "grand", "happy", "honest", "keen", "kind", "lively", "lucky", "merry", "mighty",
    "neat", "nimble", "noble", "polite", "proud", "quick", "quiet", "rare", "sharp", "shy", "sleek",
    "smart", "steady", "sunny", "swift", "tidy", "vast", "warm", "wise", "witty", "zesty",
)
_NOUNS = (
    "ant", "bass", "bat", "bear", "bee", "boar", "cat", "cod", "colt", "crab", "crane", "crow", "deer",
    "doe", "dove", "duck", "eel", "elk", "finch", "fox", "frog", "goat", "gull", "hare", "hawk", "hen",
    "horse", "jay", "koi", "lark", "lynx", "mole", "moth", "newt", "owl", "ox", "panda", "perch", "pig",
    "ram", "robin", "seal", "shrew", "slug", "snail", "squid", "stork", "swan", "toad", "trout", "wasp",
    "whale", "wolf", "wren", "yak",
)


def random_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"
