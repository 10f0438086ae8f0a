"""Flex Template entry point of job 1 (shards): FLEX_TEMPLATE_PYTHON_PY_FILE of the launcher image.

Builds the shards pipeline from the launcher's argv and submits it without waiting (see
flex_args.py for why this is not ``pipelines.shards.job.main``). Exit code: 0 submitted, 2 a
user's mistake, anything else a crash.
"""

import sys

from flex_args import launch

from pipelines.shards import job as make_shards

if __name__ == "__main__":
    sys.exit(launch("shards", make_shards.build_pipeline, sys.argv[1:]))
