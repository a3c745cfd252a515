"""智慧人社 lakehouse: the package that the CLI, Spark jobs, models and DAGs share."""

__version__ = "0.1.0"
