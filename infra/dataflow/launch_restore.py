"""Flex Template entry point of job 3 (restore): FLEX_TEMPLATE_PYTHON_PY_FILE of the launcher image.

Builds the restore pipeline from the launcher's argv and submits it without waiting (see
flex_args.py for why this is not ``pipelines.restore.main``). Exit code: 0 submitted, 2 a
user's mistake, anything else a crash.
"""

import sys

from flex_args import launch

from pipelines import restore

if __name__ == "__main__":
    sys.exit(launch("restore", restore.build_pipeline, sys.argv[1:]))
