"""Which runs have their workers inside the launching process (the restore job then hands its
checked model to them)."""

from __future__ import annotations

import pytest

from pipelines.runtime import options as job_options


@pytest.mark.parametrize(("extra", "inside"), [
    ([], True),  # the default local runner, in memory
    (["--direct_running_mode=multi_threading", "--direct_num_workers=2"], True),
    (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], False),
    (["--runner=DataflowRunner", "--project=p", "--region=r", "--temp_location=gs://b/t"], False),
])
def test_workers_run_in_process_only_on_a_local_runner_without_worker_processes(extra, inside, tmp_path):
    argv = [f"--input={tmp_path}", f"--output={tmp_path / 'out'}", *extra]
    assert job_options.in_process(job_options.parse(argv, job_options.RestoreOptions)) is inside
