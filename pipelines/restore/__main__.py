"""``python -m pipelines.restore ...``: job 3, as Dataflow launchers and schedulers start it."""

import sys

from pipelines.restore.job import main

sys.exit(main())
