"""``python -m pipelines.shards ...``: job 1, as Dataflow launchers and schedulers start it."""

import sys

from pipelines.shards.job import main

sys.exit(main())
