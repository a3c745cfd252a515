"""夜间管道 — the nightly pipeline of the 智慧人社 lakehouse (Airflow DAG `nightly_pipeline`).

For the extract date *D* it waits for each source's delivery (a source that has not delivered by
06:00 is noted as a missing delivery and the night goes on), then runs every step of
`lakehouse.pipeline.NIGHTLY_STEPS` in order (table below), from bronze ingest to the nightly export
folder `<exports>/D/`. Spark steps share the 1-slot `spark` pool. The gold and export steps update
the assets `lakehouse_gold` and `lakehouse_nightly_exports`, on which other DAGs are scheduled.
"""

from lakehouse_dag_support import build_dag

dag = build_dag("nightly_pipeline", __doc__)
