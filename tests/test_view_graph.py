"""Which views read which (pipelines/warehouse/view_graph.py), on small SQL and on the real views of sql/."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import WarehouseError
from pipelines.warehouse import settings
from pipelines.warehouse import views as warehouse_views
from pipelines.warehouse.view_graph import ViewFile, cte_names, display_path, in_dependency_order, references

# A mart shaped like sql/marts/model_pass_rates.sql before its CTEs were renamed: its CTEs `models` and
# `benchmark_types` carry the names of analytics views, which the regular expression took for dependencies.
CTES_NAMED_LIKE_VIEWS = """
with

models as (
    select * from benchmarks_stg.stg_models
),

benchmark_types as (
    select * from benchmarks_stg.stg_benchmark_types
),

final as (
    select models.model_id, benchmark_types.name
    from models
    cross join benchmark_types
)

select * from final
"""


def write_views(directory: Path, bodies: dict[str, str]) -> list[ViewFile]:
    """One file per `schema.name` -> SQL, in the order given."""
    views = []
    for qualified, sql in bodies.items():
        schema, name = qualified.split(".")
        path = directory / schema / f"{name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
        views.append(ViewFile(schema, name, path))
    return views


def names_of(views: list[ViewFile]) -> list[str]:
    return [f"{view.schema}.{view.name}" for view in views]


def test_a_cte_named_like_a_view_is_not_a_dependency():
    assert references(CTES_NAMED_LIKE_VIEWS) == {
        ("benchmarks_stg", "stg_models"),
        ("benchmarks_stg", "stg_benchmark_types"),
    }
    assert cte_names(CTES_NAMED_LIKE_VIEWS) == {"models", "benchmark_types", "final"}


def test_a_cte_named_like_a_view_makes_no_false_edge_in_the_order(tmp_path):
    """The regular expression saw an edge model_pass_rates -> analytics.models here, which closed a cycle."""
    views = write_views(tmp_path, {
        "benchmarks_stg.stg_models": "select * from benchmarks_raw.models",
        "benchmarks_stg.model_pass_rates": CTES_NAMED_LIKE_VIEWS,
        "analytics.models": "with rates as (select * from benchmarks_stg.model_pass_rates) select * from rates",
    })
    assert in_dependency_order(views) == views


def test_ctes_in_subqueries_and_nested_withs_are_not_dependencies():
    sql = """
    with outer_runs as (
        with inner_runs as (select * from benchmarks_stg.int_runs)
        select * from inner_runs
    )
    select
        outer_runs.probe_run_id,
        (select count(*) from benchmarks_stg.stg_test_cases as cases
         where cases.probe_run_id = outer_runs.probe_run_id) as cases
    from outer_runs
    inner join (
        with recent as (select * from benchmarks_stg.stg_probe_runs) select * from recent
    ) as recent_runs on outer_runs.probe_run_id = recent_runs.probe_run_id
    where outer_runs.model_id in (
        with listed as (select model_id from benchmarks_stg.stg_models) select model_id from listed
    )
    """
    assert cte_names(sql) == {"outer_runs", "inner_runs", "recent", "listed"}
    assert references(sql) == {
        ("benchmarks_stg", "int_runs"),
        ("benchmarks_stg", "stg_test_cases"),
        ("benchmarks_stg", "stg_probe_runs"),
        ("benchmarks_stg", "stg_models"),
    }


def test_table_functions_and_macros_are_not_tables():
    sql = """
    select benchmarks_stg.pass_rate(runs.passed_count, runs.failed_count) as pass_rate, numbers.range
    from benchmarks_stg.int_runs as runs
    cross join range(3) as numbers
    cross join read_csv('extra.csv') as extra
    cross join benchmarks_stg.some_table_macro(1) as macro_rows
    """
    assert references(sql) == {("benchmarks_stg", "int_runs")}


def test_names_are_compared_in_lower_case_as_duckdb_does():
    sql = 'with Runs as (select * from Benchmarks_Stg."INT_RUNS") select * from RUNS'
    assert references(sql) == {("benchmarks_stg", "int_runs")}


def test_an_unqualified_table_is_refused_with_its_name():
    with pytest.raises(WarehouseError, match=r"^the table test_cases must be schema-qualified") as caught:
        references("with cases as (select * from test_cases) select * from cases")
    assert "\n" not in str(caught.value)


def test_an_unqualified_table_is_refused_naming_the_file(tmp_path):
    views = write_views(tmp_path, {
        "benchmarks_stg.int_model_pass_rates": "select * from benchmarks_stg.stg_models",
        "analytics.leaderboard": "select * from model_pass_rates",
    })
    with pytest.raises(WarehouseError, match=r"leaderboard\.sql: the table model_pass_rates must be schema-qualified"):
        in_dependency_order(views)


def test_sql_that_is_not_one_select_is_refused():
    with pytest.raises(WarehouseError, match="cannot parse"):
        references("select from where (")
    with pytest.raises(WarehouseError, match="found 2"):
        references("select 1 from benchmarks_raw.models; select 2 from benchmarks_raw.models")
    with pytest.raises(WarehouseError, match="found 0"):
        references("-- only a comment\n")


def test_each_view_comes_after_the_views_it_reads_and_raw_tables_are_ignored(tmp_path):
    views = write_views(tmp_path, {
        "analytics.leaderboard": "select * from benchmarks_stg.int_model_pass_rates",
        "analytics.models": "select * from benchmarks_stg.stg_models",
        "benchmarks_stg.int_model_pass_rates": (
            "select * from benchmarks_stg.int_latest_runs inner join benchmarks_stg.stg_models using (model_id)"
        ),
        "benchmarks_stg.int_latest_runs": "select * from benchmarks_raw.probe_runs",
        "benchmarks_stg.stg_models": "select * from benchmarks_raw.models",
    })
    assert names_of(in_dependency_order(views)) == [
        "benchmarks_stg.int_latest_runs",
        "benchmarks_stg.stg_models",
        "benchmarks_stg.int_model_pass_rates",
        "analytics.leaderboard",
        "analytics.models",
    ]


def test_views_already_in_order_keep_their_order(tmp_path):
    views = write_views(tmp_path, {
        "benchmarks_stg.stg_b": "select * from benchmarks_raw.b",
        "benchmarks_stg.stg_a": "select * from benchmarks_raw.a",
        "analytics.z": "select * from benchmarks_stg.stg_a",
        "analytics.y": "select * from benchmarks_stg.stg_b",
    })
    assert in_dependency_order(views) == views
    assert in_dependency_order(list(reversed(views[2:])) + views[:2]) == [views[0], views[3], views[1], views[2]]


def test_a_cycle_is_reported_naming_its_views(tmp_path):
    views = write_views(tmp_path, {
        "benchmarks_stg.stg_a": "select * from benchmarks_raw.a",
        "benchmarks_stg.int_b": "select * from benchmarks_stg.int_c",
        "benchmarks_stg.int_c": "select * from benchmarks_stg.int_b join benchmarks_stg.stg_a using (id)",
    })
    with pytest.raises(WarehouseError, match="int_b.sql: views read each other in a cycle: "
                       r"benchmarks_stg\.int_b -> benchmarks_stg\.int_c -> benchmarks_stg\.int_b\.$"):
        in_dependency_order(views)


def test_a_view_that_reads_itself_is_a_cycle(tmp_path):
    views = write_views(tmp_path, {"analytics.x": "select * from analytics.x"})
    with pytest.raises(WarehouseError, match=r"cycle: analytics\.x -> analytics\.x\.$"):
        in_dependency_order(views)


def test_two_files_for_one_view_are_refused(tmp_path):
    staging = write_views(tmp_path / "staging", {"benchmarks_stg.x": "select * from benchmarks_raw.x"})
    intermediate = write_views(tmp_path / "intermediate", {"benchmarks_stg.x": "select * from benchmarks_raw.y"})
    with pytest.raises(WarehouseError, match=r"both define the view benchmarks_stg\.x"):
        in_dependency_order(staging + intermediate)


def test_files_are_named_relative_to_the_repository():
    path = Path(__file__).resolve().parent.parent / "sql" / "marts" / "leaderboard.sql"
    assert display_path(path) == "sql/marts/leaderboard.sql"


# The real views of sql/, as the warehouse creates them.


def real_views() -> list[ViewFile]:
    return warehouse_views.view_files()


def reads_of(view: ViewFile) -> set[tuple[str, str]]:
    return references(view.path.read_text(encoding="utf-8"))


def test_every_real_view_comes_after_the_views_it_reads():
    views = real_views()
    ordered = in_dependency_order(views)
    assert sorted(names_of(ordered)) == sorted(names_of(views))
    position = {(view.schema, view.name): index for index, view in enumerate(ordered)}
    for index, view in enumerate(ordered):
        views_read = reads_of(view) & position.keys()
        assert views_read or view.path.parent.name == "staging", f"{view.name} reads no view"
        for read in views_read:
            assert position[read] < index, f"{view.schema}.{view.name} is created before {read[0]}.{read[1]}"


def test_every_real_reference_is_schema_qualified_and_names_a_view_or_a_raw_table():
    """Raw tables are read by staging only; anything else read must be a view of sql/ (no typo, no `main.x`)."""
    views = real_views()
    view_names = {(view.schema, view.name) for view in views}
    for view in views:
        for schema, name in reads_of(view):  # raises for a reference without a schema
            where = f"{display_path(view.path)} reads {schema}.{name}"
            if schema == settings.RAW_SCHEMA:
                assert view.path.parent.name == "staging", f"{where}: only staging views read raw tables"
            else:
                assert (schema, name) in view_names, f"{where}, which is no view of sql/"


def test_no_real_cte_is_named_like_a_view():
    """DuckDB 1.1 takes a CTE named like a view for a circular reference, and it hides the view it is named after."""
    views = real_views()
    view_names = {view.name for view in views}
    assert {"models", "test_cases", "stg_models", "int_runs"} <= view_names
    for view in views:
        clashes = cte_names(view.path.read_text(encoding="utf-8")) & view_names
        assert not clashes, f"{display_path(view.path)}: CTEs named like views: {sorted(clashes)}"


def test_no_analytics_view_reads_another_analytics_view():
    """In a warehouse file named analytics.duckdb, DuckDB names the catalog `analytics` too, and a reference
    `analytics.x` fails as "Ambiguous reference to catalog or schema". Views are created in a working file of another
    name and the file is then copied, so no catalog can be named either: what marts share lives in benchmarks_stg."""
    for view in real_views():
        if view.schema == settings.ANALYTICS_SCHEMA:
            read = {name for schema, name in reads_of(view) if schema == settings.ANALYTICS_SCHEMA}
            assert not read, f"{display_path(view.path)} reads analytics views {sorted(read)}"
