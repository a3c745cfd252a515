"""Local servers the project starts itself (Trino, Superset, Airflow): config, start, stop."""
