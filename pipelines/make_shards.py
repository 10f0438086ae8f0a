"""``python -m pipelines.make_shards ...``: the old name of ``python -m pipelines.shards``, kept
for command lines and Flex Templates written before job 1 moved into ``pipelines/shards/``."""

import sys

from pipelines.shards.job import main

if __name__ == "__main__":
    sys.exit(main())
