"""基金预测 — monthly fund forecasts (Airflow DAG `forecast_fund`).

On the 1st of each month: the cohort-component projection of the insured population and of the
pension fund under each scenario of conf/projection.yaml (the 2025 reform as published, and no
reform), the mortality check against conf/life_table.yaml, and 12-month forecasts of fund income
and expenditure tracked in MLflow (asset `lakehouse_fund_forecast`). One Spark step in the `spark` pool.
"""

from lakehouse_dag_support import build_dag

dag = build_dag("forecast_fund", __doc__)
