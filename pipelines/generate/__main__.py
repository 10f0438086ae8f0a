import sys

from pipelines.generate.job import main

sys.exit(main(sys.argv[1:]))
