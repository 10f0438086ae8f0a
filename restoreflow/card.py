"""The model card (``model.json``): the contract between job 2 (which writes it, through
``model.export``) and everything that runs or lists a model (the restore job, the engines,
warm starts, the zoo, the benchmarks). TensorFlow-free: reading a card loads no model.

A card says what a consumer needs to run the model (channels, scale, mask, receptive field
for tiling, size multiple) and where it came from. The typed fields are those every card of
this version has; every other key (purpose, headline, throughput, scores, reproduce, training,
data, validation, source, ...) is provenance, kept as it is through a read/write round trip.
``model_id`` is derived from the weights at export, so re-exporting the same weights keeps it.

Version 1 is the format of every card written so far (``"format": 1``); a card of another
version is refused with one line naming the file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from restoreflow.configs import ConfigError, from_mapping, to_plain

CARD_VERSION = 1
CARD_FILE = "model.json"
STYLE_TASK = "style"  # a style model's task: `restoreflow stylize` runs it, `restore` refuses it
GENERATOR_TASK = "generate"  # a generator's: `restoreflow generate` samples it, `restore --masks` fills holes with it
VERSION_KEY = "format"


class ModelDirError(ConfigError):
    """A model directory that cannot be used (missing files, bad card): a user's mistake."""


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A builder of ``model.architectures`` and its keyword arguments."""

    name: str
    args: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ModelCard:
    model_id: str  # architecture name + a digest of the weights
    task: str  # denoise, deblur, jpeg, sr, inpaint, blind; diagnose; style
    channels: int  # image channels in and out (an inpainting model takes the mask as one more)
    scale: int  # output size / input size
    takes_mask: bool
    receptive_field_radius: int  # input pixels each side an output pixel depends on
    size_multiple: int  # tiles start at multiples of this (U-Nets' strided grid)
    architecture: Architecture
    params: int
    created_utc: str
    code_version: str
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)  # every other key

    @property
    def purpose(self) -> str:
        return self.provenance.get("purpose", "")

    @property
    def headline(self) -> list[str]:
        return list(self.provenance.get("headline", []))

    @property
    def mp_per_s(self) -> float | None:
        return (self.provenance.get("throughput") or {}).get("mp_per_s")

    @property
    def bf16_cost_db(self) -> float | None:
        return bf16_cost_db(self.provenance)

    def with_provenance(self, **entries) -> ModelCard:
        """A copy with these provenance keys set (the card itself is frozen)."""
        return dataclasses.replace(self, provenance={**self.provenance, **entries})

    def to_dict(self) -> dict:
        """The card as written to model.json: the typed fields and the provenance, flat."""
        typed = {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "provenance"}
        return {**self.provenance, **typed, VERSION_KEY: CARD_VERSION}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = CARD_FILE) -> ModelCard:
        """A card from its JSON object; ``source`` names the file in error messages."""
        if not isinstance(data, Mapping):
            raise ModelDirError(f"{source} is not a model card (a JSON object)")
        version = data.get(VERSION_KEY)
        if version != CARD_VERSION:
            raise ModelDirError(f"{source} is a model card of format {version}; this restoreflow reads format "
                                f"{CARD_VERSION} (export the model again, or use the restoreflow that wrote it)")
        typed = {f.name for f in dataclasses.fields(cls)} - {"provenance"}
        missing = sorted(typed - set(data))
        if missing:
            raise ModelDirError(f"{source} lacks {', '.join(missing)}")
        fields = {key: data[key] for key in typed}
        provenance = {key: value for key, value in data.items() if key not in typed and key != VERSION_KEY}
        try:
            return from_mapping(cls, {**fields, "provenance": provenance})
        except ConfigError as e:
            raise ModelDirError(f"{source}: {str(e).removeprefix('ModelCard: ')}") from None

    @classmethod
    def from_json(cls, text: str, source: str = CARD_FILE) -> ModelCard:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ModelDirError(f"{source} is not valid JSON ({e}); export the model again") from None
        return cls.from_dict(data, source)


def input_channels(card: Mapping) -> int:
    """The channels a model takes (plain JSON or a ModelCard's to_dict()): the image's, plus
    the mask for inpainting or the noise level map for a denoiser told its noise level."""
    return card["channels"] + (1 if card["takes_mask"] else 0) + (1 if card.get("takes_noise_level") else 0)


# bf16 is offered for a model only where its card records a measured cost within this on the
# model's own benchmark (issue 13; bench/jobs/precision.py measures and records it).
MAX_BF16_COST_DB = 0.05


def bf16_cost_db(card: Mapping) -> float | None:
    """The PSNR cost of bf16 inference that bench/jobs/precision.py measured and recorded in a card
    (plain JSON or a ModelCard's provenance), or None when it was never measured."""
    return ((card.get("inference") or {}).get("bf16") or {}).get("psnr_cost_db")


# A tile overlap is seam-free when tiled and whole-image outputs differ by at most this many
# 8-bit levels anywhere: half a level, so that the written 8-bit images differ by at most one.
SEAM_THRESHOLD_LEVELS = 0.5


def seam_overlap_px(card: Mapping) -> int | None:
    """The smallest seam-free overlap bench/jobs/seams.py measured and recorded in a card (plain
    JSON or a ModelCard's provenance), or None when it was never measured."""
    return ((card.get("inference") or {}).get("seams") or {}).get("overlap_px")
