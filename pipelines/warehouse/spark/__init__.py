"""Spark as the warehouse engine (docs/spark.md)."""

import warnings

# pyspark's Connect client warns on stderr, at every session, that it has not been tested with pandas 3 (which
# pyspark[connect] installs); the product uses no pandas through it, and a command's stderr is its one-line error.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
