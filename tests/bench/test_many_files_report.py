"""The many-files benchmark's cost projection and page (bench/many_files_report.py): the arithmetic
behind the page's dollars and task starts, and a page that says when N is not the issue's 1,000."""

from __future__ import annotations

import pytest

from bench.many_files_report import glue_dpu_seconds, projection, render


def test_before_is_a_billed_minute_per_file_and_after_a_minute_per_group() -> None:
    before_events, before_prefix, glue_groups, inline = projection(
        group_max_files=64, inline_group_max_files=250
    )
    assert glue_dpu_seconds(1) == 3.75  # 0.0625 DPU x the 60-second minimum
    assert (before_events["glue_runs"], before_events["dpu_seconds"]) == (1000, 3750.0)
    assert before_events["usd"] == pytest.approx(0.4583, abs=1e-4)  # 3,750 DPU-s at $0.44 per DPU-hour
    assert (before_events["dag_runs"], before_events["task_starts"]) == (1000, 6000)
    assert (before_prefix["dag_runs"], before_prefix["task_starts"]) == (1, 2004)
    # A group is one task start: its load step verifies its files itself.
    assert (glue_groups["glue_runs"], glue_groups["dpu_seconds"], glue_groups["task_starts"]) == (
        16,
        60.0,
        20,
    )
    assert (inline["glue_runs"], inline["usd"], inline["task_starts"]) == (0, 0.0, 8)  # 4 groups of 250


def figures(files: int) -> dict:
    one = {
        "scenario": "one file, auto",
        "files": 1,
        "dag_runs": 1,
        "wall_seconds": 10.0,
        "glue_job_runs": 0,
        "task_instances": 7,
        "seconds_per_file": 10.0,
        "files_verified": 1,
        "engines": ["inline"],
        "cpu_seconds": 8.0,
        "load_average": [1.5, 2.0],
    }
    many = {
        **one,
        "scenario": "prefix, auto (inline)",
        "files": files,
        "wall_seconds": 25.0,
        "seconds_per_file": 25.0 / files,
        "files_verified": files,
        "cpu_seconds": 20.0,
    }
    return {
        "files": files,
        "rows_per_file": 50,
        "one_file_bytes": 1234,
        "inline_max_bytes": 4 << 20,
        "group_max_files": 64,
        "results": [many, one],
        "components_alive": {"scheduler": True, "emulator": True},
        "bench_seconds": 100.0,
        "measured_at": "2026-12-06T16:00:00+00:00",
        "load_average": (2.0, 2.0, 2.0),
    }


def test_the_page_gives_ratios_to_the_baseline_and_says_when_n_is_smaller() -> None:
    page = render(figures(100))
    row = "| prefix, auto (inline) | 100 | 1 | 0 | 7 | 25.0 | 0.250 | 2.50× | 20.0 | 2.50× | 1.5 → 2.0 |"
    assert f"{row} 100 of 100 | inline |" in page
    old = figures(100)  # figures measured before CPU seconds were: dashes, not a ratio
    for result in old["results"]:
        del result["cpu_seconds"], result["load_average"]
    assert "| 25.0 | 0.250 | 2.50× | — | — | — | 100 of 100 | inline |" in render(old)
    assert "**N = 100, not the issue's 1,000**" in page
    assert "not the issue's" not in render(figures(1000))


def test_the_page_checks_the_issue_s_goals() -> None:
    """Each goal with what was measured and whether it was met: the ratio to one file, every
    component alive, every file verified once; a component down or a file in two runs is a miss."""
    page = render(figures(1000))
    assert "| prefix, auto (inline): wall ≤ 3× one file | 2.50× (CPU 2.50×) | yes |" in page
    assert "| every component alive | all up | yes |" in page
    once = "| 1,001 of 1,001 verified (every scenario), 0 in more than one run | yes |"
    assert once in page
    broken = figures(1000)
    broken["components_alive"]["scheduler"] = False
    broken["results"][0] |= {"wall_seconds": 31.0, "files_in_more_than_one_run": ["raw/a.csv"]}
    page = render(broken)
    assert "| prefix, auto (inline): wall ≤ 3× one file | 3.10× (CPU 2.50×) | **no** |" in page
    assert "| every component alive | scheduler down | **no** |" in page
    assert "1 in more than one run | **no** |" in page


def test_the_page_says_where_the_task_seconds_went() -> None:
    data = figures(1000)
    data["results"][0]["cpu_split"] = {"emulator": 7.5, "airflow": 12.5}
    data["results"][0]["task_seconds"] = {
        "load_file.run_glue": {"count": 16, "seconds": 160.0, "longest": 12.5},
        "load_file.verify": {"count": 16, "seconds": 80.0, "longest": 6.0},
        "resolve_inputs": {"count": 1, "seconds": 9.0, "longest": 9.0},
        "summarize": {"count": 1, "seconds": 2.5, "longest": 2.5},
    }
    page = render(data)
    assert "| prefix, auto (inline) | 16, 160.0, 12.5 | 16, 80.0, 6.0 | 2, 11.5 |" in page
    assert "| one file, auto | — | — | 0, 0.0 |" in page
    assert "| prefix, auto (inline) | 7.5 | 12.5 |" in page  # the CPU seconds' split
    assert "| one file, auto | — | — |" in page


def test_the_page_times_a_burst_from_its_last_file_and_says_what_came_before() -> None:
    """A burst's wall seconds start when its last file landed (the baseline's upload is not in its
    figure either); the page gives the uploads, the event path's delay, each run, and the figure from
    the first upload."""
    data = figures(1000)
    burst = {
        **data["results"][0],
        "scenario": "burst of S3 events, auto",
        "dag_runs": 2,
        "wall_seconds": 27.0,
        "wall_from_first_upload": 33.0,
        "upload_seconds": 6.0,
        "first_run_start_after_upload": 4.5,
        "runs": [
            {"files": 500, "start_after_upload": 4.5, "end_after_upload": 26.0},
            {"files": 500, "start_after_upload": 5.0, "end_after_upload": 27.0},
        ],
    }
    data["results"].append(burst)
    page = render(data)
    assert "| burst of S3 events, auto: wall ≤ 3× one file | 2.70× (CPU 2.50×) | yes |" in page
    assert "took 6.0 s before that" in page
    assert "the first DAG run started 4.5 s later" in page
    assert "(500 files, 4.5 s → 26.0 s; 500 files, 5.0 s → 27.0 s)" in page
    assert "From the first upload instead: 33.0 s,\n3.30× one file." in page
    assert "From the first upload" not in render(figures(1000))  # figures measured without them
