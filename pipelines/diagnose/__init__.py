"""``restoreflow diagnose``: the damage diagnosis of every image under --input, alone (the
triage of a large archive: it reads a few crops per image, far less than restoring).

Modules, in the order an image meets them:

- ``diagnoser``: the crops of an image and the bundled diagnosis model that reads them
  (``Diagnoser``; the restore job's ``--model auto`` uses it too);
- ``job``: ``run(argv)`` and ``main(argv)``: read inputs | Diagnose | write the table, the
  errors and a summary of the counts per kind of damage.
"""
