"""湖维护 — lake maintenance (Airflow DAG `maintain_lake`): Delta OPTIMIZE and VACUUM.

Scheduled on the asset `lakehouse_nightly_exports`, so it runs after a nightly export (never while
that night's Spark jobs write) and in the `spark` pool.
Built once `lakehouse.pipeline` has the step `maintain` (see `lakehouse airflow status`).
"""

from lakehouse_dag_support import build_dag

dag = build_dag("maintain_lake", __doc__)
