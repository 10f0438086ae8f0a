"""``python -m bench.zoo``: see ``bench.zoo.benchmark``."""

from bench.zoo.benchmark import main

raise SystemExit(main())
