"""`restoreflow restore` with a fault injected after writing, for the corpus tests:

    python -m tests.helpers.with_fault kill-after N RESTORE_ARGS...
        SIGKILLs its own process once N images are written (a run killed part-way).
    python -m tests.helpers.with_fault wait-for PATH RESTORE_ARGS...
        holds the first image until PATH exists (a run that is busy while another starts).
"""

import os
import signal
import sys
import time

from pipelines import restore
from pipelines.restore import write


def main() -> int:
    mode, value, *argv = sys.argv[1:]
    real_finish = write.finish
    written = []

    def finish(stitched, settings):
        while mode == "wait-for" and not os.path.exists(value):
            time.sleep(0.05)
        row = real_finish(stitched, settings)
        written.append(stitched.image_id)
        if mode == "kill-after" and len(written) >= int(value):
            os.kill(os.getpid(), signal.SIGKILL)
        return row

    write.finish = finish
    return restore.main(argv)


if __name__ == "__main__":
    sys.exit(main())
