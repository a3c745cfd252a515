"""模型训练 — weekly model training (Airflow DAG `train_models`), separate from nightly scoring.

Trains on features and feedback labels up to the run date and registers new model versions
(asset `lakehouse_model_candidates`); nightly scoring keeps using the version its alias pins.
Built once `lakehouse.pipeline` has the step `train` (see `lakehouse airflow status`).
"""

from lakehouse_dag_support import build_dag

dag = build_dag("train_models", __doc__)
