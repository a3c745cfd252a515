"""Fund forecasts: short-term statsforecast models of monthly income and expenditure (MLflow-tracked)."""

EXPERIMENT = "fund_forecast"
