-- Wilson score interval at 95% (z = 1.96) of a pass rate passed / (passed + failed); NULL when nothing was rated.
-- Clamped to [0, 1] against floating-point noise at the edges.
create or replace macro benchmarks_stg.wilson_low(passed, failed) as
    case when passed + failed > 0 then greatest(0.0,
        (
            passed / (passed + failed)
            + 1.96 * 1.96 / (2 * (passed + failed))
            - 1.96 * sqrt(
                (passed / (passed + failed)) * (1 - passed / (passed + failed)) / (passed + failed)
                + 1.96 * 1.96 / (4 * (passed + failed) * (passed + failed))
            )
        ) / (1 + 1.96 * 1.96 / (passed + failed))
    ) end;

create or replace macro benchmarks_stg.wilson_high(passed, failed) as
    case when passed + failed > 0 then least(1.0,
        (
            passed / (passed + failed)
            + 1.96 * 1.96 / (2 * (passed + failed))
            + 1.96 * sqrt(
                (passed / (passed + failed)) * (1 - passed / (passed + failed)) / (passed + failed)
                + 1.96 * 1.96 / (4 * (passed + failed) * (passed + failed))
            )
        ) / (1 + 1.96 * 1.96 / (passed + failed))
    ) end;

create or replace macro benchmarks_stg.pass_rate(passed, failed) as
    case when passed + failed > 0 then passed / (passed + failed) end;
