"""Named sizes of the simulated world. Counts in docs/api.md are computed from these by `World.counts()`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    types: int  # benchmark types (at most 4)
    models: int  # regular models, plus one dedicated error-only model
    categories_per_type: int
    probes_per_category: int
    max_runs_per_probe: int  # each probe of each model is run 1..max times at epoch 0
    cases_per_run: tuple[int, int]  # test cases per run, inclusive range
    sentences_per_message: tuple[int, int]  # conversation length driver (about 60 characters a sentence)


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", types=2, models=3, categories_per_type=2, probes_per_category=3, max_runs_per_probe=2,
                  cases_per_run=(2, 5), sentences_per_message=(1, 4)),
    "small": Scale("small", types=4, models=6, categories_per_type=3, probes_per_category=3, max_runs_per_probe=3,
                   cases_per_run=(12, 30), sentences_per_message=(2, 8)),
    "medium": Scale("medium", types=4, models=12, categories_per_type=4, probes_per_category=4, max_runs_per_probe=3,
                    cases_per_run=(40, 90), sentences_per_message=(3, 10)),
    "large": Scale("large", types=4, models=40, categories_per_type=5, probes_per_category=5, max_runs_per_probe=3,
                   cases_per_run=(100, 160), sentences_per_message=(3, 10)),
}


def get_scale(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; choose one of {', '.join(SCALES)}") from None
