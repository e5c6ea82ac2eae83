"""`benchmarks-etl report`: what the analytics views say, for people (terminal tables, or one HTML file)."""
