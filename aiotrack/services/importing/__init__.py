"""`aiotrack import`: copy an MLflow tracking store into aiotrack with MLflow's ids kept.

- ``source.py``: what every source offers (experiments as row streams in aiotrack's table
  layout, registered models, counts and metric sums for the verification);
- ``mlflow_sql.py`` (an MLflow SQLite or PostgreSQL database, read directly), ``mlflow_files.py``
  (an ``mlruns/`` directory), ``mlflow_rest.py`` (a running tracking server over its REST API);
- ``writer.py``: the import itself (one transaction per experiment and per registered model,
  journaled, so reruns add nothing and an interrupted run continues), artifact copying;
- ``report.py``: counts per entity on both sides and metric sums per run, compared.

Traces are one more unit kind once aiotrack stores them: the sources count them, and until the
target has a trace store an import of a source with traces stops unless ``--skip-traces``.
"""
