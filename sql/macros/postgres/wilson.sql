-- The Wilson score interval and pass rate of sql/macros/duckdb/wilson.sql as PostgreSQL SQL functions: the same
-- formulas, in double precision (PostgreSQL's `/` on integers would truncate).
create or replace function benchmarks_stg.wilson_low(passed double precision, failed double precision)
returns double precision language sql immutable as $$
    select case when passed + failed > 0 then greatest(0.0,
        (
            passed / (passed + failed)
            + 1.96 * 1.96 / (2 * (passed + failed))
            - 1.96 * sqrt(
                (passed / (passed + failed)) * (1 - passed / (passed + failed)) / (passed + failed)
                + 1.96 * 1.96 / (4 * (passed + failed) * (passed + failed))
            )
        ) / (1 + 1.96 * 1.96 / (passed + failed))
    ) end
$$;

create or replace function benchmarks_stg.wilson_high(passed double precision, failed double precision)
returns double precision language sql immutable as $$
    select case when passed + failed > 0 then least(1.0,
        (
            passed / (passed + failed)
            + 1.96 * 1.96 / (2 * (passed + failed))
            + 1.96 * sqrt(
                (passed / (passed + failed)) * (1 - passed / (passed + failed)) / (passed + failed)
                + 1.96 * 1.96 / (4 * (passed + failed) * (passed + failed))
            )
        ) / (1 + 1.96 * 1.96 / (passed + failed))
    ) end
$$;

create or replace function benchmarks_stg.pass_rate(passed double precision, failed double precision)
returns double precision language sql immutable as $$
    select case when passed + failed > 0 then passed / (passed + failed) end
$$;
