"""The restore output's summaries and its page, ``OUT/report.html``, built from the run's files.

Modules, in data-flow order (each imports only those above it):

- ``summaries``: one run's ``summary.json`` from its Parquet rows and error files; reading them;
- ``history``: the trend over the runs' summaries (``restoreflow history OUT``);
- ``data``: what the page shows, collected from every run's rows, errors and summaries;
- ``metrics``, ``charts``, ``crops``: the page's metric definitions, SVG charts and image crops;
- ``template``: ``template.html`` and its Content-Security-Policy;
- ``page``: the values rendered through the template (Jinja2, autoescaped);
- ``build``: ``build_report(OUT)``, the one builder (``restoreflow report OUT``, and the restore
  job once its pipeline has finished).
"""
