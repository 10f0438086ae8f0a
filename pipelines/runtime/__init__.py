"""How the Beam jobs start, report progress and record rejected inputs.

Modules, in data-flow order:

- ``flags``: the jobs' own flags, declared once without importing Beam (``--help``);
- ``options``: the same flags as Beam PipelineOptions, parsed and checked with every Beam flag
  (``flags`` and ``options`` are one concept, split so that ``--help`` loads no Beam);
- ``progress``: the live progress line of local runs;
- ``errors``: the error record of a rejected input (``errors/*.jsonl``).
"""
