"""Local stand-ins for what the loader talks to, used by the demo, the tests and the benchmarks: a deterministic
Benchmarks API (server.py over world.py), crafted answers the simulator never gives (crafted_api.py), very large
bodies (big_bodies.py), and a throwaway PostgreSQL server (throwaway_postgres.py)."""
