import io
import tarfile
import zipfile

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.inputs import sources
from pipelines.runtime import progress
from tests.helpers.images import photo, png_bytes


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_rate_counts_speed_from_the_first_finished_image():
    clock = FakeClock()
    rate = progress.Rate(total=10, clock=clock)
    clock.now += 7  # start-up: model loading
    assert rate.line("restore", 0, 0.0) == "restore: 0/10 images, 0:07 elapsed"
    assert rate.line("restore", 1, 2.0) == "restore: 1/10 images, 0:07 elapsed"
    clock.now += 4  # then 4 more images, 2 MP each, in 4 s
    assert rate.line("restore", 5, 10.0) == "restore: 5/10 images, 2 MP/s, 0:11 elapsed, ETA 0:05"
    clock.now += 5
    assert rate.line("restore", 10, 20.0) == "restore: 10/10 images, 2 MP/s, 0:16 elapsed"


def test_rate_never_shows_more_done_than_total():
    rate = progress.Rate(total=2, clock=FakeClock())
    assert rate.line("shards", 3, 0.0).startswith("shards: 3/3 images")


def test_counter_reads_complete_lines_once(tmp_path):
    counter = progress.Counter(str(tmp_path))
    (tmp_path / "a.log").write_text("1.5\n0.5\n2.0")  # the last line is still being written
    assert counter.read() == (2, 2.0)
    with open(tmp_path / "a.log", "a") as f:
        f.write("\n")
    (tmp_path / "b.log").write_text("0.0\n")
    assert counter.read() == (4, 4.0)
    assert counter.read() == (4, 4.0)


def test_archives_count_by_their_members(tmp_path):
    image = png_bytes(photo("camera", (8, 8)))
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        for name in ("x.png", "sub/y.png", "z.txt"):
            archive.writestr(name, image)
    with tarfile.open(tmp_path / "b.tar.gz", "w:gz") as archive:
        for name in ("p.png", "q.png"):
            info = tarfile.TarInfo(name)
            info.size = len(image)
            archive.addfile(info, io.BytesIO(image))
    (tmp_path / "c.png").write_bytes(image)
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    files = sources.list_files(sources.resolve(str(tmp_path))).files
    assert progress.count_images(files) == 3 + 2 + 1 + 1


def test_tracker_follows_a_pipeline_to_the_end():
    stream = io.StringIO()  # not a terminal: a line every LOG_INTERVAL_S, and the last one
    tracker = progress.Tracker("test", stream=stream)
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    rows = pipeline | "Rows" >> beam.Create([{"mp": 0.5}] * 4)
    errors = pipeline | "Errors" >> beam.Create([{"reason": "broken"}])
    tracker.follow(rows, errors, total=5, megapixels=lambda element: element.get("mp"))
    with tracker:
        pipeline.run().wait_until_finish()
    assert stream.getvalue().splitlines()[-1].startswith("test: 5/5 images")


def test_an_unfollowed_tracker_prints_nothing():
    stream = io.StringIO()
    with progress.Tracker("test", stream=stream):
        pass
    assert stream.getvalue() == ""
