"""Machine-learning models: training, evaluation and scoring (MLflow-tracked)."""
