"""核查反馈 — community verification feedback into the lake (Airflow DAG `ingest_feedback`).

For the date *D* it waits for `<landing>/feedback/D/` and loads the dispositions; a CONFIRMED or
ALIVE_VERIFIED outcome becomes a training label (asset `lakehouse_feedback_labels`).
Built once `lakehouse.pipeline` has the step `feedback` (see `lakehouse airflow status`).
"""

from lakehouse_dag_support import build_dag

dag = build_dag("ingest_feedback", __doc__)
