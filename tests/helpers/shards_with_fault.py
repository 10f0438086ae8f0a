"""`restoreflow shards` held part-way, for the Ctrl-C test:

    python -m tests.helpers.shards_with_fault N MARKER SHARDS_ARGS...
        makes the records of the first N images, then holds every other image (creating the file
        MARKER once it holds), so that a signal finds the run busy.
"""

import sys
import time
from pathlib import Path

from pipelines.shards import degrade, job as make_shards


def main() -> int:
    hold_after, marker, *argv = sys.argv[1:]
    real_process = degrade.MakeRecords.process
    started = []

    def process(self, item):
        while len(started) >= int(hold_after):
            Path(marker).touch()
            time.sleep(0.05)
        started.append(item.image_id)
        yield from real_process(self, item)

    degrade.MakeRecords.process = process
    return make_shards.main(argv)


if __name__ == "__main__":
    sys.exit(main())
