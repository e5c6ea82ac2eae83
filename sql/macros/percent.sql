-- A fraction (0-1) as a percentage rounded to one decimal, half away from zero (0.0625 -> 6.3, -0.0625 -> -6.3),
-- the same on every engine: plain double arithmetic and floor, never an engine's own round() (PostgreSQL has no
-- round(double precision, integer), and rounding through numeric would differ from DuckDB's). A value within 1e-9
-- of a half counts as the half, so a rate stored as 0.0145 (in binary a hair below) rounds as 1.45 does: to 1.5.
-- NULL stays NULL; `+ 0` turns the -0.0 of a tiny negative fraction into 0.0.
create or replace macro benchmarks_stg.percent(fraction) as
    sign(fraction) * floor(abs(fraction) * 1000 + 0.500000001) / 10 + 0;
