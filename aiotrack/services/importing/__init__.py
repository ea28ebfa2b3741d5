"""`aiotrack import`: copy an MLflow tracking store into aiotrack with MLflow's ids kept.

- ``source.py``: what every source offers (experiments as row streams in aiotrack's table
  layout, registered models, counts and metric sums for the verification);
- ``mlflow_sql.py`` (an MLflow SQLite or PostgreSQL database, read directly), ``mlflow_files.py``
  (an ``mlruns/`` directory), ``mlflow_rest.py`` (a running tracking server over its REST API);
- ``writer.py``: the import itself (one transaction per experiment and per registered model,
  journaled, so reruns add nothing and an interrupted run continues), artifact copying;
- ``report.py``: counts per entity on both sides and metric sums per run, compared.
- ``traces.py``: trace rows (infos, tags, metadata, spans, assessments, links) built once for
  every source, with the trace store's own row builders.

Each experiment's traces are a unit of their own, journaled as ``experiment_traces``; with
``--skip-traces`` they are left out, and a later import without it brings them.
"""
