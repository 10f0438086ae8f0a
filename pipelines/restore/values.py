"""What an image carries from step to step of the restore job, as frozen values.

Beam forbids changing an element once it is output (a fused runner hands the same object to
the next step), so nothing here is changed after it is made: a step that needs something else
makes a new value. The big model input travels apart from the per-image metadata:

    Prepared(meta, model_input) -> tiles (TileKey, tile) -> RunInference -> Stitched(meta, canvas)

Only the first tile's key carries the ``ImageMeta`` through inference (tiles of one image stay
in one fused stage, so it is not copied); every key carries the id and source, so any tile can
name its image in an error. The metadata cannot travel beside the tiles instead: a ``Flatten``
of it with RunInference's output, into the stitcher, broke the stage's fusion on the local
runner (measured on Beam 2.77: the producer emitted every element before the first reached the
consumer), and a ``CoGroupByKey`` is a barrier too: memory would hold every image of the input
rather than the images in flight.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pipelines.imaging.channels import ChannelPlan
from pipelines.imaging.metadata import Metadata
from restoreflow.diagnosis import Diagnosis


@dataclasses.dataclass(frozen=True)
class Recorded:
    """Row fields settled before inference."""

    content_sha256: str
    mask_sha256: str | None
    redone: str | None = None  # why a done image is redone (see rerun)
    note: str | None = None  # e.g. why a reference was not used


@dataclasses.dataclass(frozen=True)
class Chosen:
    """Which model restores an image and the settings key its row gets; with --model auto also
    why, and the diagnosis it was chosen from."""

    model: str  # --model as given, or the bundled name auto picked; routing.COPY: written unchanged
    model_id: str
    settings_key: str
    reason: str | None = None
    diagnosis: Diagnosis | None = None
    noise_level: float | None = None  # a denoiser told its noise level: the sigma / 255 it is given


@dataclasses.dataclass(frozen=True)
class ImageMeta:
    """Everything the stitcher and the writer need about an image besides the model's output."""

    image_id: str
    source: str
    recorded: Recorded
    started: float  # time.time() when preparing began
    size_in: tuple[int, int]  # height, width of the model input
    format_in: str
    source_mode: str
    channel_plan: ChannelPlan  # how the model's output becomes the image's channels (no model input)
    out_dtype: np.dtype
    out_format: str
    alpha: np.ndarray | None
    icc_profile: bytes | None
    reference: np.ndarray | None  # in the output's dtype, channels and size
    reference_kind: str | None  # "paired" or a path
    before: dict  # the *_degraded score columns
    crop_box: tuple[int, int, int, int]  # top, left, height, width in output pixels
    crop_before: np.ndarray  # the degraded input there (at output size), 8-bit
    chosen: Chosen
    metadata: Metadata = Metadata()  # EXIF, XMP, IPTC, DPI of the input, written with the output


@dataclasses.dataclass(frozen=True)
class Prepared:
    """An image ready for tiling: its metadata and the model input (HWC, the model's channels
    plus a mask channel for inpainting; the stored dtype when no conversion was needed, else
    float32)."""

    meta: ImageMeta
    model_input: np.ndarray

    @property
    def image_id(self) -> str:
        return self.meta.image_id


@dataclasses.dataclass(frozen=True)
class Unchanged:
    """An image written as it came (undamaged under --model auto, or --strength 0): its input
    bytes when they can be copied bit-exact, else its pixels to encode in the output format."""

    meta: ImageMeta
    pixels: np.ndarray  # the input in the output's dtype and channels
    data: bytes | None

    @property
    def image_id(self) -> str:
        return self.meta.image_id


@dataclasses.dataclass(frozen=True)
class TileKey:
    """RunInference's key of one tile."""

    image_id: str
    source: str
    tile: object  # model.tiling.Tile
    count: int  # tiles of the image
    meta: ImageMeta | None  # on the first tile only
    model: str = ""  # with --model auto, the bundled model that restores it (RunInference's key)


@dataclasses.dataclass(frozen=True)
class Stitched:
    """Every tile's core in place: the model's output for the whole image (its channels, at
    output size; the output dtype when no colour conversion follows, else float32)."""

    meta: ImageMeta
    canvas: np.ndarray
    tiles: int

    @property
    def image_id(self) -> str:
        return self.meta.image_id

    @property
    def source(self) -> str:
        return self.meta.source
