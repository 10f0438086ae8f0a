import sys

from pipelines.diagnose.job import main

sys.exit(main(sys.argv[1:]))
